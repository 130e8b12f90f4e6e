"""Load demo purposes for the quick start; safe to run again."""
from django.core.management.base import BaseCommand

from consents import services
from consents.models import Purpose

DEMO_PURPOSES = [
    {
        "slug": "marketing-email",
        "title": "Marketing emails",
        "description": "News, offers and product announcements by email.",
        "legal_basis": "consent",
        "validity_days": 730,
        "text": "We would like to send you news and offers by email. You can unsubscribe at any time.",
    },
    {
        "slug": "analytics",
        "title": "Product analytics",
        "description": "Measuring how the product is used, to improve it.",
        "legal_basis": "consent",
        "validity_days": 395,
        "text": "We measure how you use our website and apps to improve them.",
    },
    {
        "slug": "personalisation",
        "title": "Personalised recommendations",
        "description": "Recommendations based on what you viewed and bought.",
        "legal_basis": "consent",
        "validity_days": None,
        "text": "We use what you viewed and bought to recommend products to you.",
    },
]


class Command(BaseCommand):
    help = "Create the demo purposes (marketing-email, analytics, personalisation) unless they exist."

    def handle(self, *args, **options):
        created = 0
        for purpose in DEMO_PURPOSES:
            if Purpose.objects.filter(slug=purpose["slug"]).exists():
                continue
            services.create_purpose(**purpose)
            created += 1
        self.stdout.write(f"Demo purposes: {created} created, {len(DEMO_PURPOSES) - created} already present.")
