-- The KeyCliq schema as Prisma creates it (see the KeyCliq reference, "Data model").
-- Used by the sandbox's sample repository (its migrations), the seeder and the tests.
CREATE TABLE "User" (
    id text PRIMARY KEY,
    email text NOT NULL,
    password text NOT NULL,
    role text NOT NULL DEFAULT 'USER',
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX "User_email_key" ON "User"(email);

CREATE TABLE "Session" (
    id text PRIMARY KEY,
    "userId" text NOT NULL REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    expiration timestamp(3) NOT NULL,
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE "PasswordResetToken" (
    id text PRIMARY KEY,
    "userId" text NOT NULL REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    "tokenHash" text NOT NULL,
    "expiresAt" timestamp(3) NOT NULL,
    used boolean NOT NULL DEFAULT false,
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX "PasswordResetToken_tokenHash_key" ON "PasswordResetToken"("tokenHash");

CREATE TABLE keys (
    id text PRIMARY KEY,
    "userId" text NOT NULL REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    name text NOT NULL,
    description text,
    unit text,
    door text,
    notes text,
    "imageUrl" text,
    "imagePublicId" text,
    signature jsonb,
    "sigStatus" text NOT NULL DEFAULT 'pending',
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE key_queries (
    id text PRIMARY KEY,
    "userId" text NOT NULL REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    "queryType" text NOT NULL DEFAULT 'scan',
    result jsonb,
    status text NOT NULL DEFAULT 'pending',
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE key_signatures (
    id text PRIMARY KEY,
    "keyId" text REFERENCES keys(id) ON DELETE CASCADE ON UPDATE CASCADE,
    "keyQueryId" text REFERENCES key_queries(id) ON DELETE CASCADE ON UPDATE CASCADE,
    signature jsonb NOT NULL,
    "imageUrl" text,
    "confidenceScore" double precision,
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE key_matchings (
    id text PRIMARY KEY,
    "userId" text NOT NULL REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE,
    "keyQueryId" text NOT NULL REFERENCES key_queries(id) ON DELETE CASCADE ON UPDATE CASCADE,
    "matchedKeyId" text REFERENCES keys(id) ON DELETE SET NULL ON UPDATE CASCADE,
    "matchType" text NOT NULL,
    similarity double precision NOT NULL,
    confidence double precision NOT NULL,
    "querySignature" jsonb NOT NULL,
    "matchedSignature" jsonb,
    "comparisonResult" jsonb,
    "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- The seven non-primary-key indexes check F looks for.
CREATE INDEX "keys_userId_sigStatus_idx" ON keys("userId", "sigStatus");
CREATE INDEX "keys_createdAt_idx" ON keys("createdAt");
CREATE INDEX "key_signatures_keyId_createdAt_idx" ON key_signatures("keyId", "createdAt" DESC);
CREATE INDEX "key_queries_userId_createdAt_idx" ON key_queries("userId", "createdAt" DESC);
CREATE INDEX "key_queries_createdAt_idx" ON key_queries("createdAt");
CREATE INDEX "key_matchings_userId_matchType_idx" ON key_matchings("userId", "matchType");
CREATE INDEX "key_matchings_createdAt_idx" ON key_matchings("createdAt");
