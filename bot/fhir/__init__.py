"""Our records as HL7 FHIR R4 resources (docs/fhir.md): one Bundle per triage, and its export."""
from bot.fhir.bundle import FhirMappingError, FhirValidationError, triage_bundle, validate_bundle

__all__ = ["FhirMappingError", "FhirValidationError", "triage_bundle", "validate_bundle"]
