-- The KeyCliq schema exactly as Prisma creates it from the app's prisma/schema.prisma
-- (`prisma migrate diff --from-empty --to-schema-datamodel`; Prisma 6 on PostgreSQL):
-- enum "Role", "updatedAt" without a default (Prisma sets it), key_queries."queryType"
-- and result NOT NULL without a default, Prisma's constraint and index names, every
-- foreign key ON DELETE CASCADE except key_matchings."matchedKeyId" (SET NULL).
-- The seeder and tests load it; the stand-in's Prisma emulation must produce the same.

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "password" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'USER',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "expiration" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PasswordResetToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "used" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PasswordResetToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "keys" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "unit" TEXT,
    "door" TEXT,
    "notes" TEXT,
    "imageUrl" TEXT,
    "imagePublicId" TEXT,
    "signature" JSONB,
    "sigStatus" TEXT NOT NULL DEFAULT 'pending',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "key_signatures" (
    "id" TEXT NOT NULL,
    "keyId" TEXT,
    "keyQueryId" TEXT,
    "signature" JSONB NOT NULL,
    "imageUrl" TEXT,
    "confidenceScore" DOUBLE PRECISION,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "key_signatures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "key_queries" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "queryType" TEXT NOT NULL,
    "result" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "key_queries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "key_matchings" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "keyQueryId" TEXT NOT NULL,
    "matchedKeyId" TEXT,
    "matchType" TEXT NOT NULL,
    "similarity" DOUBLE PRECISION NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "querySignature" JSONB NOT NULL,
    "matchedSignature" JSONB,
    "comparisonResult" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "key_matchings_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "PasswordResetToken_tokenHash_key" ON "PasswordResetToken"("tokenHash");

-- CreateIndex
CREATE INDEX "keys_userId_sigStatus_idx" ON "keys"("userId", "sigStatus");

-- CreateIndex
CREATE INDEX "keys_createdAt_idx" ON "keys"("createdAt");

-- CreateIndex
CREATE INDEX "key_signatures_keyId_createdAt_idx" ON "key_signatures"("keyId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "key_queries_userId_createdAt_idx" ON "key_queries"("userId", "createdAt" DESC);

-- CreateIndex
CREATE INDEX "key_queries_createdAt_idx" ON "key_queries"("createdAt");

-- CreateIndex
CREATE INDEX "key_matchings_userId_matchType_idx" ON "key_matchings"("userId", "matchType");

-- CreateIndex
CREATE INDEX "key_matchings_createdAt_idx" ON "key_matchings"("createdAt");

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PasswordResetToken" ADD CONSTRAINT "PasswordResetToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "keys" ADD CONSTRAINT "keys_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_signatures" ADD CONSTRAINT "key_signatures_keyId_fkey" FOREIGN KEY ("keyId") REFERENCES "keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_signatures" ADD CONSTRAINT "key_signatures_keyQueryId_fkey" FOREIGN KEY ("keyQueryId") REFERENCES "key_queries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_queries" ADD CONSTRAINT "key_queries_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_matchings" ADD CONSTRAINT "key_matchings_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_matchings" ADD CONSTRAINT "key_matchings_keyQueryId_fkey" FOREIGN KEY ("keyQueryId") REFERENCES "key_queries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "key_matchings" ADD CONSTRAINT "key_matchings_matchedKeyId_fkey" FOREIGN KEY ("matchedKeyId") REFERENCES "keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;
