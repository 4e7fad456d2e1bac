/**
 * Signs a file as `minisign -S` does (prehashed: Ed25519 over its BLAKE2b-512), with an unencrypted
 * minisign secret key (`minisign -G -W`), so `minisign -Vm FILE -P KEY` accepts the signature. The
 * formats and the checks are src/update/minisign.ts's; only signing, which no binary does, is here.
 */
import { globallySigned, keyIdText, plainBytes, signedBytes } from "../src/update/minisign.ts";

/** The parts of a minisign secret key file that signing needs. */
export interface SecretKey {
  id: Uint8Array;
  seed: Uint8Array;
  publicKey: Uint8Array;
}

const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const base64url = (bytes: Uint8Array) => base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/**
 * An unencrypted secret key file: "Ed", no KDF, "B2", salt (32), opslimit (8), memlimit (8), then the
 * key id (8), the Ed25519 secret key (seed and public key, 64) and a checksum (32).
 */
export function parseSecretKey(text: string): SecretKey {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== "" && !l.startsWith("untrusted comment:"));
  const bytes = Uint8Array.from(atob((line ?? "").trim()), (c) => c.charCodeAt(0));
  if (bytes.length !== 158 || ascii(bytes.subarray(0, 2)) !== "Ed") throw new Error("not a minisign secret key");
  if (bytes[2] !== 0 || bytes[3] !== 0) throw new Error("the minisign secret key is encrypted: make an unencrypted one with minisign -G -W");
  return { id: bytes.slice(54, 62), seed: bytes.slice(62, 94), publicKey: bytes.slice(94, 126) };
}

/** The public key file's base64 line for a secret key: what `minisign -P` and PIPEOPS_RELEASE_PUBLIC_KEY take. */
export function publicKeyLineOf(key: SecretKey): string {
  const bytes = new Uint8Array(42);
  bytes.set([0x45, 0x64]); // "Ed"
  bytes.set(key.id, 2);
  bytes.set(key.publicKey, 10);
  return base64(bytes);
}

async function ed25519Sign(key: SecretKey, data: Uint8Array): Promise<Uint8Array> {
  const jwk = { kty: "OKP", crv: "Ed25519", d: base64url(key.seed), x: base64url(key.publicKey) };
  const signing = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("Ed25519", signing, plainBytes(data)));
}

/** The .minisig text for `file`: a prehashed signature, and the trusted comment signed with it. */
export async function signFile(file: Uint8Array, key: SecretKey, trustedComment: string): Promise<string> {
  if (/[\r\n]/.test(trustedComment)) throw new Error("a trusted comment is one line");
  const signature = await ed25519Sign(key, signedBytes("ED", file));
  const head = new Uint8Array(74);
  head.set([0x45, 0x44]); // "ED": prehashed
  head.set(key.id, 2);
  head.set(signature, 10);
  const global = await ed25519Sign(key, globallySigned(signature, trustedComment));
  return `untrusted comment: signature from minisign secret key ${keyIdText(key.id)}\n${base64(head)}\ntrusted comment: ${trustedComment}\n${base64(global)}\n`;
}
