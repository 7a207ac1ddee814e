//! The Microsoft serialized certificate store (.sst), as imported by `Set-SmimeConfig -SMIMECertificateIssuingCA`.
