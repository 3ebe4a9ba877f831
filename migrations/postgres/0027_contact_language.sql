-- The language a person reads the portal, PDFs and emails in ('en', 'de'). Empty until chosen:
-- the first sign-in takes it from the browser's Accept-Language, the profile changes it.
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '' CHECK (locale IN ('', 'en', 'de'));
