#!/usr/bin/python3
"""Recompute WarzonePhone's crypto independently and compare byte for byte.

Uses Debian's python3-nacl (Ed25519, X25519), python3-mnemonic (BIP39) and python3-cryptography
(HKDF-SHA256, HMAC, ChaCha20-Poly1305). The transcript layouts follow docs/SECURITY.md, written
again here from that description rather than from the C code.
Usage: crosscheck.py <crypto_vectors binary> <tests/data/identity.json>
"""
import hashlib
import hmac
import json
import struct
import subprocess
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from mnemonic import Mnemonic
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base
from nacl.signing import SigningKey, VerifyKey

FAILURES = []


def check(what, got, want):
    if got != want:
        FAILURES.append(f"{what}: C gave {got!r}, expected {want!r}")


def hkdf(ikm, info, salt=None, length=32):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def expand(prk, info, length=32):
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def identity(seed):
    sign_seed = hkdf(seed, b"warzone-ed25519")
    dh_sk = hkdf(seed, b"warzone-x25519")
    sk = SigningKey(sign_seed)
    pk = bytes(sk.verify_key)
    fp = hashlib.sha256(pk).digest()[:16].hex()
    return {
        "sign_pk": pk.hex(),
        "dh_sk": dh_sk.hex(),
        "dh_pk": crypto_scalarmult_base(dh_sk).hex(),
        "fingerprint": ":".join(fp[i:i + 4] for i in range(0, 32, 4)),
        "mnemonic": Mnemonic("english").to_mnemonic(seed),
    }


def profile_bytes(p):
    codecs = ["Opus24k", "Opus16k", "Opus6k", "Codec2_3200", "Codec2_1200", "ComfortNoise",
              "Opus32k", "Opus48k", "Opus64k"]
    return (bytes([codecs.index(p["codec"])]) + struct.pack(">f", p["fec_ratio"]) +
            bytes([p["frame_duration_ms"], p["frames_per_block"]]))


def check_handshake(hs):
    binding = bytes.fromhex(hs["binding"])
    offer = hs["offer"]["CallOffer"]
    answer = hs["answer"]["CallAnswer"]
    a = identity(bytes.fromhex(hs["caller_seed"]))
    b = identity(bytes.fromhex(hs["callee_seed"]))
    check("offer identity", bytes(offer["identity_pub"]).hex(), a["sign_pk"])
    check("answer identity", bytes(answer["identity_pub"]).hex(), b["sign_pk"])
    eph_a = bytes.fromhex(hs["caller_eph_sk"])
    eph_b = bytes.fromhex(hs["callee_eph_sk"])
    # the offer commits to the caller's ephemeral; the caller's confirmation reveals it
    revealed = bytes(hs["caller_confirm"]["KeyConfirm"]["ephemeral_pub"])
    check("revealed ephemeral", revealed, crypto_scalarmult_base(eph_a))
    check("offer commitment", bytes(offer["ephemeral_pub"]),
          hashlib.sha256(b"wzp/v1 ephemeral-commit\0" + revealed).digest())
    check("callee reveals nothing", "ephemeral_pub" in hs["callee_confirm"]["KeyConfirm"], False)
    check("answer ephemeral", bytes(answer["ephemeral_pub"]), crypto_scalarmult_base(eph_b))
    profiles = offer["supported_profiles"]
    offer_tbs = (b"wzp/v1 call-offer\0" + binding + bytes(offer["identity_pub"]) +
                 bytes(offer["ephemeral_pub"]) + bytes([len(profiles)]) +
                 b"".join(profile_bytes(p) for p in profiles))
    sig_a = bytes(offer["signature"])
    VerifyKey(bytes(offer["identity_pub"])).verify(offer_tbs, sig_a)  # raises on mismatch
    offer_hash = hashlib.sha256(offer_tbs + sig_a).digest()
    answer_tbs = (b"wzp/v1 call-answer\0" + binding + offer_hash + bytes(answer["identity_pub"]) +
                  bytes(answer["ephemeral_pub"]) + profile_bytes(answer["chosen_profile"]))
    sig_b = bytes(answer["signature"])
    VerifyKey(bytes(answer["identity_pub"])).verify(answer_tbs, sig_b)
    th = hashlib.sha256(answer_tbs + sig_b).digest()
    check("transcript hash", hs["transcript"], th.hex())
    dh = crypto_scalarmult(eph_a, bytes(answer["ephemeral_pub"]))
    check("dh symmetric", dh, crypto_scalarmult(eph_b, revealed))
    prk = hmac.new(th, dh, hashlib.sha256).digest()  # HKDF-Extract(salt=th, ikm=dh)
    check("caller tx key", hs["caller_tx"], expand(prk, b"wzp/v1 caller->callee media").hex())
    check("caller rx key", hs["caller_rx"], expand(prk, b"wzp/v1 callee->caller media").hex())
    sas = struct.unpack(">I", expand(prk, b"warzone-sas-code", 4))[0] % 10000
    check("SAS", hs["sas"], sas)
    confirm = expand(prk, b"wzp/v1 key confirmation")
    check("caller confirmation", bytes(hs["caller_confirm"]["KeyConfirm"]["mac"]),
          hmac.new(confirm, b"caller" + th, hashlib.sha256).digest())
    check("callee confirmation", bytes(hs["callee_confirm"]["KeyConfirm"]["mac"]),
          hmac.new(confirm, b"callee" + th, hashlib.sha256).digest())
    return bytes.fromhex(hs["caller_tx"])


def check_media(key, packets):
    aead = ChaCha20Poly1305(key)
    for i, p in enumerate(packets):
        pkt = bytes.fromhex(p["packet"])
        key_id, counter = pkt[0], struct.unpack(">I", pkt[1:5])[0]
        check(f"media {i} counter", counter, i)
        nonce = bytes(8) + struct.pack(">I", counter)
        ad = b"wzp1" + bytes([p["codec"]]) + struct.pack(">I", p["timestamp"]) + \
            bytes([key_id]) + struct.pack(">I", counter)
        check(f"media {i} decrypts", aead.decrypt(nonce, pkt[5:], ad).hex(), p["plaintext"])


def check_sender_key(sk):
    chain = bytes.fromhex(sk["chain"])
    check("sender media key", sk["media_key"], expand(chain, b"wzp/v1 sender media").hex())
    check("sender key id", sk["key_id"], (sk["epoch"] * 16) % 256)
    nxt = expand(chain, b"wzp/v1 sender ratchet")
    check("sender ratchet", sk["ratcheted_chain"], nxt.hex())
    check("sender ratcheted media key", sk["ratcheted_media_key"],
          expand(nxt, b"wzp/v1 sender media").hex())


def main():
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True, text=True).stdout
    v = json.loads(out)
    for ident in v["identities"]:
        want = identity(bytes.fromhex(ident["seed"]))
        for k, val in want.items():
            check(f"identity {ident['seed'][:8]} {k}", ident[k], val)
        check("mnemonic -> seed", Mnemonic("english").to_entropy(ident["mnemonic"]).hex(),
              ident["seed"])
    for name, sni in v["sni"].items():
        want = hashlib.sha256(b"featherchat-group:" + name.encode()).digest()[:16].hex()
        check(f"room SNI {name!r}", sni, want)
    ref = json.load(open(sys.argv[2]))
    for name, sni in ref["room_sni"].items():
        if name in v["sni"]:
            check(f"room SNI {name!r} (reference vectors)", v["sni"][name], sni)
    key = check_handshake(v["handshake"])
    check_media(key, v["media"])
    check_sender_key(v["sender_key"])
    if FAILURES:
        print("\n".join(FAILURES))
        print(f"0 passed, {len(FAILURES)} failed")
        sys.exit(1)
    print("crypto cross-check: identities, SNIs, handshake, media and sender keys all match")


if __name__ == "__main__":
    main()
