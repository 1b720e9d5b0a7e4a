"""Demo organisations, one user per role, and a handful of tickets. Safe to run again.

Refused when DEBUG is off (unless forced): the demo users share one published password.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from tickets import services
from tickets.addresses import parse_address_list
from tickets.models import MailDomain, Organisation, OrganisationKind, Symptom, Ticket, User
from tickets.roles import Role

DEMO_PASSWORD = "deliver-demo-2026"  # noqa: S105 - printed on purpose: local demo logins

ORGANISATIONS = [
    ("National Notification Office", OrganisationKind.NATIONAL, []),
    ("Mail Vendor Ltd", OrganisationKind.VENDOR, []),
    ("Northland Department of Labor", OrganisationKind.STATE, ["northland.example", "nl.example"]),
    ("Southport Workforce Agency", OrganisationKind.STATE, ["southport.example"]),
]

USERS = [
    ("national", "Nadia", "National", Role.NATIONAL_STAFF, "National Notification Office"),
    ("vendor", "Victor", "Vendor", Role.VENDOR_LIAISON, "Mail Vendor Ltd"),
    ("northland", "Nora", "Northland", Role.STATE_ADMIN, "Northland Department of Labor"),
    ("southport", "Sam", "Southport", Role.STATE_ADMIN, "Southport Workforce Agency"),
]


class Command(BaseCommand):
    help = "Create demo organisations, one user per role and a few tickets (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force-demo-in-production",
            action="store_true",
            help="Seed even with DEBUG off: creates users whose password is in the README.",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force_demo_in_production"]:
            raise CommandError(
                "seed_demo refuses to run with DEBUG off: it creates users whose password is "
                "published in the README. Run it with DEBUG=true for a local site, or pass "
                "--force-demo-in-production if this really is a throwaway demo server."
            )
        with transaction.atomic():
            users = self._organisations_and_users()
        # Each ticket is filed and moved by the services, which own their (durable) transactions.
        created = self._tickets(users)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if created:
            self.stdout.write(f"Created {created} demo tickets.")
        self.stdout.write("\nLog in at http://127.0.0.1:8000/ with:")
        for username, _first, _last, role, organisation in USERS:
            self.stdout.write(f"  {username:<10} / {DEMO_PASSWORD}   {role.label} — {organisation}")

    def _organisations_and_users(self) -> dict[str, User]:
        for role in Role:
            Group.objects.get_or_create(name=role.value)
        organisations = {}
        for name, kind, domains in ORGANISATIONS:
            organisation, _ = Organisation.objects.get_or_create(name=name, defaults={"kind": kind})
            organisations[name] = organisation
            for domain in domains:
                MailDomain.objects.get_or_create(
                    domain=domain, defaults={"organisation": organisation}
                )
        users = {}
        for username, first, last, role, organisation in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@helpdesk.example",
                    "organisation": organisations[organisation],
                },
            )
            if created:
                # The demo password obeys AUTH_PASSWORD_VALIDATORS like any other.
                validate_password(DEMO_PASSWORD, user)
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role.value))
            users[username] = user
        return users

    def _tickets(self, users: dict[str, User]) -> int:
        if Ticket.objects.filter(reporter__username__in=["northland", "southport"]).exists():
            return 0
        north, south = users["northland"], users["southport"]
        national = users["national"]

        def file(user, text, **kwargs):
            addresses, problems = parse_address_list(text)
            assert not problems, problems
            return services.ticket_file(actor=user, addresses=addresses, diagnose=False, **kwargs)

        def move(ticket, user, name, **data):
            ticket.refresh_from_db()
            return services.ticket_transition(
                actor=user,
                number=ticket.number,
                name=name,
                expected_version=ticket.version,
                data=data,
            )

        contact = {
            "mail_admin_name": "Northland mail team",
            "mail_admin_email": "postmaster@northland.example",
        }
        file(
            north,
            "Jane Roe <jane.roe@northland.example>\njohn.public@nl.example",
            symptom=Symptom.PASSWORD_MAIL_MISSING,
            description="Two new users never got their password mail.",
            spam_filter_checked=True,
            spam_filter_notes="Nothing in quarantine.",
            **contact,
        )
        file(
            south,
            "case.worker@southport.example",
            symptom=Symptom.ALL_MAIL_STOPPED,
            description="No notifications since Monday.",
        )
        escalated = file(
            north,
            "pat.smith@northland.example",
            symptom=Symptom.SOME_MISSING,
            spam_filter_checked=True,
            first_noticed=timezone.localdate() - timedelta(days=3),
            **contact,
        )
        move(escalated, national, "triage", text="Looking at it.")
        move(escalated, national, "escalate", text="Please check the suppression list.")
        done = file(
            south,
            "old.address@southport.example",
            symptom=Symptom.SOME_MISSING,
            spam_filter_checked=True,
        )
        move(done, national, "resolve", cause="address_typo", resolution="Profile corrected.")
        return 4
