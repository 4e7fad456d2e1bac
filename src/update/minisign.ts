/**
 * minisign's formats (https://jedisct1.github.io/minisign/), read and checked with web-standard
 * crypto: Ed25519 from crypto.subtle (Bun and Deno), BLAKE2b-512 from @noble/hashes for the
 * prehashed signatures minisign makes by default. A release's SHA256SUMS is signed this way, and
 * the signature's trusted comment says which version it vouches for.
 */
import { blake2b } from "@noble/hashes/blake2.js";

/** A public key: its 8-byte id, and the Ed25519 key. */
export interface PublicKey {
  id: Uint8Array;
  key: Uint8Array;
}

/** A signature file (.minisig): what it signs with, the key that made it, both signatures and the trusted comment. */
export interface Signature {
  /** "ED": of the BLAKE2b-512 of the file (minisign's default); "Ed": of the file itself (legacy). */
  algorithm: "ED" | "Ed";
  keyId: Uint8Array;
  signature: Uint8Array;
  trustedComment: string;
  globalSignature: Uint8Array;
}

/** A signature that does not check out, or a file that is not one: `reason` says which, for the error. */
export class SignatureError extends Error {
  override readonly name = "SignatureError";
}

/** Far more than a signature file is: four short lines. */
export const MAX_SIGNATURE_BYTES = 4096;
const TRUSTED_PREFIX = "trusted comment: ";

function base64(text: string, what: string, length?: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new SignatureError(`${what} is not base64`);
  }
  if (length !== undefined && bytes.length !== length) throw new SignatureError(`${what} has the wrong length`);
  return bytes;
}

const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** The key's id as minisign shows it: the 8 bytes as a little-endian number, in hex. */
export function keyIdText(id: Uint8Array): string {
  return [...id]
    .reverse()
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** A public key from the base64 line of a minisign public key file (what `minisign -P` takes). */
export function parsePublicKey(line: string): PublicKey {
  const bytes = base64(line, "the public key", 42);
  if (ascii(bytes.subarray(0, 2)) !== "Ed") throw new SignatureError("the public key is not an Ed25519 minisign key");
  return { id: bytes.slice(2, 10), key: bytes.slice(10) };
}

/** The base64 line of a public key file: the text may be the whole file, or that line alone. */
export function publicKeyLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !line.startsWith("untrusted comment:"));
  if (lines.length !== 1) throw new SignatureError("a minisign public key is one base64 line");
  return lines[0]!.trim();
}

/** A .minisig file: an untrusted comment, the signature, the trusted comment, the global signature. */
export function parseSignature(text: string): Signature {
  if (text.length > MAX_SIGNATURE_BYTES) throw new SignatureError("the signature file is too large");
  const lines = text.split(/\r?\n/);
  if (!lines[0]?.startsWith("untrusted comment:") || !lines[2]?.startsWith(TRUSTED_PREFIX) || lines[1] === undefined || lines[3] === undefined) {
    throw new SignatureError("the signature file is not in minisign's format");
  }
  const head = base64(lines[1], "the signature", 74);
  const algorithm = ascii(head.subarray(0, 2));
  if (algorithm !== "ED" && algorithm !== "Ed") throw new SignatureError("the signature is not an Ed25519 minisign signature");
  return {
    algorithm,
    keyId: head.slice(2, 10),
    signature: head.slice(10),
    trustedComment: lines[2].slice(TRUSTED_PREFIX.length),
    globalSignature: base64(lines[3], "the comment's signature", 64),
  };
}

/** What a signature signs: the file's BLAKE2b-512 (prehashed), or the file. */
export function signedBytes(algorithm: Signature["algorithm"], file: Uint8Array): Uint8Array {
  return algorithm === "ED" ? blake2b(file) : file;
}

/** The signature and the trusted comment, as the global signature covers them. */
export function globallySigned(signature: Uint8Array, trustedComment: string): Uint8Array {
  const comment = new TextEncoder().encode(trustedComment);
  const both = new Uint8Array(signature.length + comment.length);
  both.set(signature);
  both.set(comment, signature.length);
  return both;
}

/** A copy on a plain ArrayBuffer, as crypto.subtle takes it. */
export const plainBytes = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey("raw", plainBytes(publicKey), { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify("Ed25519", key, plainBytes(signature), plainBytes(data));
}

/**
 * Checks `file` against its signature and `trusted`, as `minisign -V` does: the same key id, the
 * file's signature, then the trusted comment's. Returns the trusted comment; throws SignatureError.
 */
export async function verifySignature(file: Uint8Array, signatureText: string, trusted: PublicKey): Promise<string> {
  const signature = parseSignature(signatureText);
  if (keyIdText(signature.keyId) !== keyIdText(trusted.id)) {
    throw new SignatureError(`it was signed with another key (${keyIdText(signature.keyId)}, not ${keyIdText(trusted.id)})`);
  }
  if (!(await ed25519Verify(trusted.key, signature.signature, signedBytes(signature.algorithm, file)))) {
    throw new SignatureError("the signature does not match the file");
  }
  if (!(await ed25519Verify(trusted.key, signature.globalSignature, globallySigned(signature.signature, signature.trustedComment)))) {
    throw new SignatureError("the trusted comment's signature does not match");
  }
  return signature.trustedComment;
}

/** `version:0.2.0` in a trusted comment (tab- or space-separated fields, as release.ts writes them). */
export function vouchedVersion(trustedComment: string): string | undefined {
  return /(?:^|[\t ])version:(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:[\t ]|$)/.exec(trustedComment)?.[1];
}
