// shim.h: the slice of OpenSSL's libcrypto that CreditCrypto uses (HMAC, SHA-256, CSPRNG).
#ifndef CREDITD_CLIBCRYPTO_SHIM_H
#define CREDITD_CLIBCRYPTO_SHIM_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#endif
