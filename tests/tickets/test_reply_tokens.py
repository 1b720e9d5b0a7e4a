import pytest

from tickets.reply_tokens import ReplyToken, read_reply_address, reply_address


@pytest.fixture(autouse=True)
def _domain(settings):
    settings.INBOUND_REPLY_DOMAIN = "in.example.org"


def test_round_trip_and_length():
    address = reply_address(ticket_id=123456789, user_id=987654321)
    local = address.split("@")[0]
    assert len(local) <= 64
    assert read_reply_address(address) == ReplyToken(ticket_id=123456789, user_id=987654321)
    assert read_reply_address(address.upper()) == ReplyToken(123456789, 987654321)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a.replace("-7-", "-8-", 1),  # another user
        lambda a: a.replace("reply+5-", "reply+6-", 1),  # another ticket
        lambda a: a[:-20] + ("0" if a[-20] != "0" else "1") + a[-19:],  # signature changed
        lambda a: a.replace("in.example.org", "evil.example"),  # another domain
        lambda a: a.replace("reply+", ""),
        lambda a: "",
    ],
)
def test_forged_or_moved_tokens_are_refused(mangle):
    assert read_reply_address(mangle(reply_address(ticket_id=5, user_id=7))) is None


def test_no_domain_no_address(settings):
    settings.INBOUND_REPLY_DOMAIN = ""
    assert reply_address(ticket_id=1, user_id=1) is None
    assert read_reply_address("reply+1-1-0000000000000000@in.example.org") is None
