# An independent implementation of the sealed-secrets value format (python3-cryptography):
#   oracle.py seal CERT.pem LABEL   < base64(plaintext) > base64(sealed)
#   oracle.py unseal KEY.pem LABEL  < base64(sealed)    > base64(plaintext)
import base64, os, struct, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

mode, key_file, label = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = base64.b64decode(sys.stdin.read())
pem = open(key_file, "rb").read()
oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)
if mode == "seal":
    session = os.urandom(32)
    wrapped = x509.load_pem_x509_certificate(pem).public_key().encrypt(session, oaep)
    out = struct.pack(">H", len(wrapped)) + wrapped + AESGCM(session).encrypt(b"\0" * 12, data, None)
else:
    n = struct.unpack(">H", data[:2])[0]
    session = serialization.load_pem_private_key(pem, None).decrypt(data[2 : 2 + n], oaep)
    out = AESGCM(session).decrypt(b"\0" * 12, data[2 + n :], None)
print(base64.b64encode(out).decode())
