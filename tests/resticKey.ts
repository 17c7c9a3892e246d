/**
 * restic calibrates its key derivation (scrypt) to take half a second on the machine that creates a repository,
 * and pays it again on every command: a few hundred restic calls would make the suite slow. This re-keys a test
 * repository with cheap scrypt parameters, in restic's own key file format (restic internal/crypto: scrypt gives
 * 32 bytes of AES-256-CTR key and 32 of Poly1305-AES key k||r; data = nonce || ciphertext || MAC). restic itself
 * then opens the repository with the new key file, which is what proves the format.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

interface KeyFile {
    created: string;
    username: string;
    hostname: string;
    kdf: "scrypt";
    N: number;
    r: number;
    p: number;
    salt: string;
    data: string;
}

function littleEndian(bytes: Buffer): bigint {
    return BigInt(`0x${Buffer.from(bytes).reverse().toString("hex") || "0"}`);
}

function poly1305Aes(message: Buffer, nonce: Buffer, macKey: Buffer): Buffer {
    const aes = crypto.createCipheriv("aes-128-ecb", macKey.subarray(0, 16), null);
    aes.setAutoPadding(false);
    const s = littleEndian(Buffer.concat([aes.update(nonce), aes.final()]));
    const r = littleEndian(macKey.subarray(16, 32)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
    const prime = (1n << 130n) - 5n;
    let accumulator = 0n;
    for (let offset = 0; offset < message.length; offset += 16) {
        const block = Buffer.concat([message.subarray(offset, offset + 16), Buffer.from([1])]);
        accumulator = ((accumulator + littleEndian(block)) * r) % prime;
    }
    const tag = (accumulator + s) & ((1n << 128n) - 1n);
    return Buffer.from(tag.toString(16).padStart(32, "0"), "hex").reverse();
}

function userKey(password: string, key: Pick<KeyFile, "N" | "r" | "p" | "salt">): { encryption: Buffer; mac: Buffer } {
    const derived = crypto.scryptSync(password, Buffer.from(key.salt, "base64"), 64, { N: key.N, r: key.r, p: key.p, maxmem: 256 * 1024 * 1024 });
    return { encryption: derived.subarray(0, 32), mac: derived.subarray(32, 64) };
}

function open(sealed: Buffer, key: { encryption: Buffer; mac: Buffer }): Buffer {
    const nonce = sealed.subarray(0, 16);
    const ciphertext = sealed.subarray(16, sealed.length - 16);
    if (!poly1305Aes(ciphertext, nonce, key.mac).equals(sealed.subarray(sealed.length - 16))) {
        throw new Error("restic key file: wrong password or not restic's format");
    }
    const aes = crypto.createDecipheriv("aes-256-ctr", key.encryption, nonce);
    return Buffer.concat([aes.update(ciphertext), aes.final()]);
}

function seal(plaintext: Buffer, key: { encryption: Buffer; mac: Buffer }): Buffer {
    const nonce = crypto.randomBytes(16);
    const aes = crypto.createCipheriv("aes-256-ctr", key.encryption, nonce);
    const ciphertext = Buffer.concat([aes.update(plaintext), aes.final()]);
    return Buffer.concat([nonce, ciphertext, poly1305Aes(ciphertext, nonce, key.mac)]);
}

/** Replaces the repository's key files by one for the same password and master key, with cheap scrypt parameters. */
export function useCheapKey(repository: string, password: string): void {
    const keysDir = path.join(repository, "keys");
    const [name, ...others] = fs.readdirSync(keysDir);
    if (name === undefined || others.length > 0) {
        throw new Error(`expected one key file in ${keysDir}`);
    }
    const original = JSON.parse(fs.readFileSync(path.join(keysDir, name), "utf8")) as KeyFile;
    const masterKey = open(Buffer.from(original.data, "base64"), userKey(password, original));
    const cheap: KeyFile = { ...original, N: 16, r: 1, p: 1, salt: crypto.randomBytes(64).toString("base64"), data: "" };
    cheap.data = seal(masterKey, userKey(password, cheap)).toString("base64");
    const json = JSON.stringify(cheap);
    // A key file is named by the SHA-256 of its contents.
    const id = crypto.createHash("sha256").update(json).digest("hex");
    fs.writeFileSync(path.join(keysDir, id), json, { mode: 0o400 });
    fs.chmodSync(path.join(keysDir, name), 0o600);
    fs.rmSync(path.join(keysDir, name));
}
