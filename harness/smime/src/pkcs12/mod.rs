//! PKCS#12 (.p12/.pfx): the file a user installs on a device (step 5).
