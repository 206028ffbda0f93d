"""Personal data sealed per person (crypto-shredding): destroy a person's key to erase them."""

from shared.contracts.introspection import (
    EACH,
    PersonalContractError,
    PersonalField,
    check_contract,
    personal_fields,
)
from shared.personal.building import build_payload, contains_erased
from shared.personal.caching import CachingKeyStore
from shared.personal.ciphers import (
    CIPHER_NAMES,
    AeadCipher,
    AesGcm,
    CipherError,
    Sm4Gcm,
    TamperedCiphertext,
    cipher_named,
)
from shared.personal.columns import SealedColumn
from shared.personal.keystore import DataKey, KeyStore, PersonErased
from shared.personal.master_key import InvalidMasterKey, MasterKey
from shared.personal.memory_keystore import MemoryKeyStore
from shared.personal.sealing import ENVELOPE, MalformedSealedField, PayloadSealer
from shared.personal.sql_keystore import KEYSTORE_MIGRATIONS, SqlKeyStore, UnknownMasterKey

__all__ = [
    "CIPHER_NAMES",
    "EACH",
    "ENVELOPE",
    "KEYSTORE_MIGRATIONS",
    "AeadCipher",
    "AesGcm",
    "CachingKeyStore",
    "CipherError",
    "DataKey",
    "InvalidMasterKey",
    "KeyStore",
    "MalformedSealedField",
    "MasterKey",
    "MemoryKeyStore",
    "PayloadSealer",
    "PersonErased",
    "PersonalContractError",
    "PersonalField",
    "SealedColumn",
    "Sm4Gcm",
    "SqlKeyStore",
    "TamperedCiphertext",
    "UnknownMasterKey",
    "build_payload",
    "check_contract",
    "cipher_named",
    "contains_erased",
    "personal_fields",
]
