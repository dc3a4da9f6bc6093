"""Vendor export sources: each module maps one tool's export onto the contract.

Importing this package registers every vendor source in
:data:`cxray.ingest.SOURCES`. Detection asks them in registration order, so the
first five (surveys, Zendesk, Segment) keep the files they claimed before the
later ones existed.
"""

from cxray.ingest._registry import register_source
from cxray.ingest.vendors.app_reviews import AppStoreSource, GooglePlaySource
from cxray.ingest.vendors.freshdesk import FreshdeskSource
from cxray.ingest.vendors.ga4 import GA4Source
from cxray.ingest.vendors.hubspot import HubSpotSource
from cxray.ingest.vendors.intercom import IntercomSource
from cxray.ingest.vendors.mailchimp import MailchimpSource
from cxray.ingest.vendors.qualtrics import QualtricsSource
from cxray.ingest.vendors.salesforce import SalesforceSource
from cxray.ingest.vendors.segment import SegmentSource
from cxray.ingest.vendors.surveymonkey import SurveyMonkeySource
from cxray.ingest.vendors.trustpilot import TrustpilotSource
from cxray.ingest.vendors.typeform import TypeformSource
from cxray.ingest.vendors.zendesk import ZendeskSource

__all__ = [
    "AppStoreSource",
    "FreshdeskSource",
    "GA4Source",
    "GooglePlaySource",
    "HubSpotSource",
    "IntercomSource",
    "MailchimpSource",
    "QualtricsSource",
    "SalesforceSource",
    "SegmentSource",
    "SurveyMonkeySource",
    "TrustpilotSource",
    "TypeformSource",
    "ZendeskSource",
]

register_source(QualtricsSource())
register_source(SurveyMonkeySource())
register_source(TypeformSource())
register_source(ZendeskSource())
register_source(SegmentSource())
register_source(FreshdeskSource())
register_source(IntercomSource())
register_source(HubSpotSource())
register_source(SalesforceSource())
register_source(GA4Source())
register_source(GooglePlaySource())
register_source(AppStoreSource())
register_source(TrustpilotSource())
register_source(MailchimpSource())
