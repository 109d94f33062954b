/* lib/crypto against Microsoft's published SMB 3.x test vectors, plus
 * values computed independently, round trips and tamper checks.
 *
 * Published vectors (Microsoft Open Specifications blog, data copied as
 * is; every one was also re-checked with OpenSSL through Python's
 * `cryptography` package while writing this suite):
 *  [ANAT] "SMB 2 and SMB 3 security in Windows 10: the anatomy of signing
 *         and cryptographic keys" (2017): preauth hash chain, 3.0 and
 *         3.1.1 keys, AES-CMAC signed SESSION_SETUP response.
 *  [ENC30] "Encryption in SMB 3.0: A protocol perspective" (2012): 3.0
 *         keys, AES-128-CCM WRITE request and READ/WRITE responses.
 *  [ENC311] "SMB 3.1.1 Encryption in Windows 10" (2015), appendix A.1
 *         (AES-128-GCM) and A.2 (AES-128-CCM): keys, signed SESSION_SETUP
 *         responses, encrypted WRITE/READ requests and responses.
 * No published vectors exist for HMAC-SHA256 and AES-GMAC signing or for
 * the AES-256 ciphers; those expected values were computed independently
 * of GnuTLS with Python (hashlib/hmac, and `cryptography` = OpenSSL:
 * AESGCM(key).encrypt(nonce, b"", msg) for GMAC, AESCCM/AESGCM for the
 * transform), as noted at each test. */
#include <check.h>

#include "crypto/smb2_crypto.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors.h"

/* ---- vectors ---------------------------------------------------------- */

/* [ANAT] preauth hashes after the NEGOTIATE request and reply of
 * vectors.h, then after each SESSION_SETUP message. */
static const char *const pae_neg_req =
    "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47"
    "122594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426";
static const char *const pae_neg_rsp =
    "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F"
    "36011E997E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513";
static const char *const pae_ss_req1 =
    "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5D432F8ED"
    "42C55E33197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9";
static const char *const pae_ss_rsp1 =
    "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B8835740A73760"
    "085633364C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387";
/* final Session.PreauthIntegrityHashValue, the 3.1.1 KDF context */
static const char *const pae_anat =
    "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB792862"
    "2DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01";
static const char *const pae_enc311_gcm =
    "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB"
    "256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770";
static const char *const pae_enc311_ccm =
    "DECF98A420718718F22090D3580FCC5E484BD310FA1268210C6E86335A8891E767F5"
    "BCD99FA5A7859D665AD07A73EA94E1BCDB7CFA69A6962A28A244138340B1";

/* [ENC311] A.1: AES-128-GCM WRITE request, nonce C7D6822D269CAF48904C664C */
static const char *const gcm_write_req =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE00"
    "000100000025000000001000000000000000000000000000000000000031007000170000"
    "000000000000000000060000000400000001000000040000000000000000000000700000"
    "0000000000536D623320656E6372797074696F6E2074657374696E67";
static const char *const gcm_write_req_enc =
    "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000"
    "0000870000000000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DA"
    "FFE990B70C9E09D36C084E02D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FE"
    "A5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C014D47C9FBDFDAFD"
    "2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E91AF013F00D17E3ABC2FC"
    "3D36C8C1B6B93973253852DBD442E46EE8";

/* [ENC30]: AES-128-CCM WRITE response */
static const char *const v30_write_rsp_enc =
    "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
    "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
    "E344479BF670227E49873F458672C3098DAC467DD5809F369D674091665157871"
    "483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
    "77309E5B";
static const char *const v30_write_rsp =
    "FE534D4240000100000000000900210009000000000000000400000000000000"
    "FFFE0000010000001100001400E4080000000000000000000000000000000000"
    "11000000170000000000000000000000";

/* [ANAT] SESSION_SETUP exchange of the 3.1.1 master session. */
static const char *const ss_req1 =
    "FE534D4240000100000000000100800000000000000000000200000000000000FFFE0000"
    "000000000000000000000000000000000000000000000000000000001900000101000000"
    "0000000058004A000000000000000000604806062B0601050502A03E303CA00E300C060A"
    "2B06010401823702020AA22A04284E544C4D5353500001000000978208E2000000000000"
    "00000000000000000000060380250000000F";

static const char *const ss_rsp1 =
    "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE0000"
    "00000000190000000010000000000000000000000000000000000000090000004800B300"
    "A181B03081ADA0030A0101A10C060A2B06010401823702020AA281970481944E544C4D53"
    "535000020000000C000C003800000015828AE20D1D8BA31179D008000000000000000050"
    "005000440000000A0092270000000F53005500540033003100310002000C005300550054"
    "0033003100310001000C0053005500540033003100310004000C00530055005400330031"
    "00310003000C0053005500540033003100310007000800A1A1F5ADCBAED00100000000";

static const char *const ss_req2 =
    "FE534D4240000100000000000100800000000000000000000300000000000000FFFE0000"
    "000000001900000000100000000000000000000000000000000000001900000101000000"
    "000000005800CF010000000000000000A18201CB308201C7A0030A0101A28201AA048201"
    "A64E544C4D53535000030000001800180090000000EE00EE00A80000000C000C00580000"
    "001A001A0064000000120012007E0000001000100096010000158288E206038025000000"
    "0FECAC77A5F385A8BF9C38C706EEEDDCD3530055005400330031003100610064006D0069"
    "006E006900730074007200610074006F0072004400520049005600450052003300310031"
    "0000000000000000000000000000000000000000000000000063078EB639FE03E20A231C"
    "3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F0000000002000C"
    "0053005500540033003100310001000C0053005500540033003100310004000C00530055"
    "00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED0"
    "0106000400020000000800300030000000000000000000000000300000B61FEFCAA857EA"
    "57BF1EDCEBF8974B8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000"
    "0000000000000000000900160063006900660073002F0053005500540033003100310000"
    "00000000000000000000003B9BDFF38F5EE8F9663F11A0F4C03A78A31204100100000063"
    "775A9A5FD97F0600000000";

/* final SESSION_SETUP response, AES-CMAC signed (signature EBE146DA...) */
static const char *const ss_rsp2 =
    "FE534D4240000100000000000100800009000000000000000300000000000000FFFE0000"
    "000000001900000000100000EBE146DA120BA25FC3376A49DFE31BC10900000048001D00"
    "A11B3019A0030A0100A3120410010000003B453CDC3524164200000000";

/* [ENC311] A.1 and A.2: final SESSION_SETUP responses, AES-CMAC signed */
static const char *const gcm_ss_rsp =
    "FE534D4240000100000000000100800009000000000000000200000000000000FFFE0000"
    "0000000025000000001000006B85A4519A0F3EEA35BA946DD3AFE6B80900000048001D00"
    "A11B3019A0030A0100A3120410010000003932A87523AB660100000000";

static const char *const ccm_ss_rsp =
    "FE534D4240000100000000000100800009000000000000000200000000000000FFFE0000"
    "0000000021000000001000003676196AEE8CA17E5D50A53642EF2BE40900000048001D00"
    "A11B3019A0030A0100A3120410010000000F57444342A2717E00000000";

/* [ENC311] A.1 (AES-128-GCM): READ request (nonce D7AA8C6D36859243B715E0A6)
 * and the WRITE and READ responses. */
static const char *const gcm_read_req =
    "FE534D4240000100000000000800010008000000000000000600000000000000FFFE0000"
    "010000002500000000100000000000000000000000000000000000003100000017000000"
    "000000000000000006000000040000000100000004000000000000000000000000000000"
    "0000000000";

static const char *const gcm_read_req_enc =
    "FD534D426DAC0B6FD85A3ED42BB917DA38FE0386D7AA8C6D36859243B715E0A600000000"
    "7100000000000100250000000010000088A47BF09CA3C3141CDD7306BE9D9475AB24FCCB"
    "833D77461C041F8FB983D0C188F0729272B31D9D3D0DC6B687C069EEE0CC8EACA2C536D0"
    "19ACC9E185D1EB630E0FCB793EEECEB06D82A1D77706E700DBEBFB4FEB54D7AD2D97E728"
    "8804F90757FE4D08D6A84A3FF433E7451E768E4699";

static const char *const gcm_write_rsp_enc =
    "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B40000000000000000"
    "5000000000000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7"
    "B6AC8DED32A2A0B8F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A01"
    "4973321FDD7950DA6179159B82E03C9E18A050FF0EA1C967";

static const char *const gcm_write_rsp =
    "FE534D4240000100000000000900010001000000000000000500000000000000FFFE0000"
    "010000002500000000100000000000000000000000000000000000001100000017000000"
    "0000000000000000";

static const char *const gcm_read_rsp_enc =
    "FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B40000000000000000"
    "67000000000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D870198634"
    "2B4197D306E16F9CBB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513"
    "C0A58D70936D537B624F5500202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98A"
    "B3D6F931D7D50DB2DBD36A";

static const char *const gcm_read_rsp =
    "FE534D4240000100000000000800010001000000000000000600000000000000FFFE0000"
    "010000002500000000100000000000000000000000000000000000001100500017000000"
    "0000000000000000536D623320656E6372797074696F6E2074657374696E67";

/* [ENC311] A.2 (AES-128-CCM): WRITE request (nonce 9F6F1EAAD7E9F24AACD38F)
 * and READ response. */
static const char *const ccm_write_req =
    "FE534D4240000100000000000900010008000000000000000500000000000000FFFE0000"
    "010000002100000000100000000000000000000000000000000000003100700017000000"
    "000000000000000005000000040000000100000004000000000000000000000070000000"
    "00000000536D623320656E6372797074696F6E2074657374696E67";

static const char *const ccm_write_req_enc =
    "FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F0000000000"
    "8700000000000100210000000010000056A74778199A9D2B6E9C3A376FD88D27680694FE"
    "D253A313BEB07381AE8689F973ACDB8D716E4477803BCE53A92E1B81FA3E965AD9AF2C89"
    "C08CE66A344664453B8FC88118EDC9814CF58E92AA465E6EFB09958A9FDAD96FBD55B36A"
    "710C30D5E7C64AD7B9449F9F17EDD024FE8BA79154F340A82740D1D5180C69B0A2DE6A4B"
    "A893BD55D3210E";

static const char *const ccm_read_rsp_enc =
    "FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B40000000000000000"
    "6700000000000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9B"
    "B04B16DEB1E85606BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E1"
    "46A8FFCE09414AB741103D637E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857"
    "ABB513927F9F271D1C208B";

static const char *const ccm_read_rsp =
    "FE534D4240000100000000000800010001000000000000000600000000000000FFFE0000"
    "010000002100000000100000000000000000000000000000000000001100500017000000"
    "0000000000000000536D623320656E6372797074696F6E2074657374696E67";

/* [ENC30]: WRITE request as Windows 8 sent it: random bytes fill the
 * Nonce field past the 11 CCM bytes (they are still part of the AAD), so
 * it can only be checked by decrypting with the client EncryptionKey. */
static const char *const v30_write_req_enc =
    "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A744DA3EE"
    "87000000000001001100001400E4080025C8FEE16605A437832D1CD52DA9F4645333482A"
    "175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A44C29BE5658DE2E6117585779"
    "E7B59FFD971278D08580D7FA899E410E910EABF5AA1DB43050B33B49182637759AC15D84"
    "BFCDF5B6B238993C0F4CF4D6012023F6C627297075D84B7803912D0A9639634453595EF3"
    "E33FFE4E7AC2AB";

static const char *const v30_write_req =
    "FE534D4240000100000000000900400008000000000000000400000000000000FFFE0000"
    "010000001100001400E40800000000000000000000000000000000003100700017000000"
    "000000000000000015010000390000020100000039020000000000000000000070000000"
    "00000000536D623320656E6372797074696F6E2074657374696E67";

/* [ENC30]: READ response. */
static const char *const v30_read_rsp_enc =
    "FD534D42ABD518B68C2F04D7879F482B689EB83F87000000000000001100001400E40800"
    "67000000000001001100001400E40800493D6FE2BDBEB435CF5F546970C7BB57BF20E713"
    "C75A3D045507E0D68E5C0346659D6FFB8AC1504A786CA2BB89C9E7FE4F313E910A04180D"
    "2D0EA7DF636329E5A3285984500EF86FE9D55DA4FAB9531CFDD4C551D47F3C73124BB459"
    "0A45052B694048B991CCF5";

static const char *const v30_read_rsp =
    "FE534D4240000100000000000800210009000000000000000500000000000000FFFE0000"
    "010000001100001400E40800000000000000000000000000000000001100500017000000"
    "0000000000000000536D623320656E6372797074696F6E2074657374696E67";

/* ---- helpers ---------------------------------------------------------- */

#define MAXMSG 4096

/* Session keys from hex inputs. */
static void derive_hex(uint16_t dialect, uint16_t cipher, const char *sk_hex,
                       const char *pa_hex, struct smb2_keys *k) {
  size_t skn, pan;
  uint8_t *sk = unhex(sk_hex, &skn);
  uint8_t *pa = pa_hex ? unhex(pa_hex, &pan) : NULL;
  ck_assert_int_eq(smb2_derive_keys(dialect, cipher, sk, skn, pa, k), 0);
  free(sk);
  free(pa);
}

/* Decrypt `enc_hex` with `key_hex` (into a separate buffer and in place)
 * and compare with `plain_hex`. */
static void check_decrypt(uint16_t cipher, const char *key_hex,
                          const char *enc_hex, const char *plain_hex) {
  size_t kn, n, pn, outlen = 0;
  uint8_t *key = unhex(key_hex, &kn);
  uint8_t *in = unhex(enc_hex, &n);
  uint8_t *plain = unhex(plain_hex, &pn);
  uint8_t out[MAXMSG];
  ck_assert_uint_eq(kn, smb2_cipher_key_len(cipher));
  ck_assert_int_eq(smb2_decrypt(cipher, key, in, n, out, &outlen), 0);
  ck_assert_uint_eq(outlen, pn);
  ck_assert_mem_eq(out, plain, pn);
  /* in place: the plaintext replaces the ciphertext after the header */
  ck_assert_int_eq(smb2_decrypt(cipher, key, in, n, in + 52, &outlen), 0);
  ck_assert_mem_eq(in + 52, plain, pn);
  free(key);
  free(in);
  free(plain);
}

/* Encrypt `plain_hex` and compare with `enc_hex` byte for byte (into a
 * separate buffer and in place), then decrypt the expected bytes back. */
static void check_encrypt(uint16_t cipher, const char *key_hex, uint64_t sid,
                          const char *nonce_hex, const char *plain_hex,
                          const char *enc_hex) {
  size_t kn, nn, pn, en;
  uint8_t *key = unhex(key_hex, &kn);
  uint8_t *nonce = unhex(nonce_hex, &nn);
  uint8_t *plain = unhex(plain_hex, &pn);
  uint8_t *want = unhex(enc_hex, &en);
  uint8_t out[MAXMSG];
  ck_assert_uint_eq(nn, smb2_cipher_nonce_len(cipher));
  ck_assert_uint_eq(en, pn + 52);
  ck_assert_int_eq(smb2_encrypt(cipher, key, sid, nonce, plain, pn, out), 0);
  ck_assert_mem_eq(out, want, en);
  memset(out, 0xAA, sizeof(out));
  memcpy(out + 52, plain, pn);
  ck_assert_int_eq(
      smb2_encrypt(cipher, key, sid, nonce, out + 52, pn, out), 0);
  ck_assert_mem_eq(out, want, en);
  free(key);
  free(nonce);
  free(want);
  check_decrypt(cipher, key_hex, enc_hex, plain_hex);
  free(plain);
}

/* Verify a signed message, then re-sign a copy whose signature was
 * cleared and expect the same 16 bytes back. */
static void check_signed(uint16_t alg, const char *key_hex,
                         const char *msg_hex, const char *sig_hex) {
  size_t kn, n;
  uint8_t *key = unhex(key_hex, &kn);
  uint8_t *msg = unhex(msg_hex, &n);
  ck_assert_uint_eq(kn, 16);
  if (sig_hex) {
    size_t sn;
    uint8_t *sig = unhex(sig_hex, &sn);
    memcpy(msg + 48, sig, 16);
    free(sig);
  }
  uint8_t want[16];
  memcpy(want, msg + 48, 16);
  ck_assert_int_eq(smb2_verify(alg, key, msg, n), 0);
  memset(msg + 48, 0x55, 16);
  ck_assert_int_eq(smb2_verify(alg, key, msg, n), SMBQ_ERR_SIGNATURE);
  ck_assert_int_eq(smb2_sign(alg, key, msg, n), 0);
  ck_assert_mem_eq(msg + 48, want, 16);
  free(key);
  free(msg);
}

static void preauth_step(uint8_t h[64], const char *msg_hex,
                         const char *want_hex) {
  size_t n;
  uint8_t *m = unhex(msg_hex, &n);
  ck_assert_int_eq(smb2_preauth_update(h, m, n), 0);
  ck_assert_mem_hex(h, want_hex);
  free(m);
}

/* ---- preauth integrity and keys ---------------------------------------- */

START_TEST(preauth_chain) {
  /* [ANAT]: NEGOTIATE and the three SESSION_SETUP messages up to the
   * final response (which is not hashed, 3.2.5.3.1). */
  uint8_t h[64] = {0};
  preauth_step(h, vec_negotiate_req, pae_neg_req);
  preauth_step(h, vec_negotiate_rsp, pae_neg_rsp);
  preauth_step(h, ss_req1, pae_ss_req1);
  preauth_step(h, ss_rsp1, pae_ss_rsp1);
  preauth_step(h, ss_req2, pae_anat);
}
END_TEST

START_TEST(kdf_raw) {
  /* [ANAT] 3.1.1 SigningKey through the bare KDF */
  size_t n, pn;
  uint8_t *sk = unhex("270E1BA896585EEB7AF3472D3B4C75A7", &n);
  uint8_t *pa = unhex(pae_anat, &pn);
  uint8_t out[32];
  ck_assert_int_eq(smb2_kdf(sk, 16, (const uint8_t *)"SMBSigningKey",
                            sizeof("SMBSigningKey"), pa, pn, out, 16),
                   0);
  ck_assert_mem_hex(out, "73FE7A9A77BEF0BDE49C650D8CCB5F76");
  /* L is part of the input: a 32-byte key is not an extension of the
   * 16-byte one (value from Python hmac/hashlib). */
  ck_assert_int_eq(smb2_kdf(sk, 16, (const uint8_t *)"SMBSigningKey",
                            sizeof("SMBSigningKey"), pa, pn, out, 32),
                   0);
  ck_assert_mem_hex(out, "65EE62005AF2DD064B5A4B7A7FEEF725"
                         "59F61B7A8565D4CB79A166EAE7DC8787");
  ck_assert_int_eq(smb2_kdf(sk, 16, (const uint8_t *)"a", 2, pa, pn, out, 24),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_kdf(sk, 0, (const uint8_t *)"a", 2, pa, pn, out, 16),
                   SMBQ_ERR_INVAL);
  free(sk);
  free(pa);
}
END_TEST

START_TEST(keys_300) {
  struct smb2_keys k;
  /* [ANAT] 3.0 master session */
  derive_hex(SMB2_DIALECT_300, SMB2_CIPHER_AES128_CCM,
             "7CD451825D0450D235424E44BA6E78CC", NULL, &k);
  ck_assert_mem_hex(k.signing, "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
  ck_assert_mem_hex(k.encrypt, "FAD27796665B313EBB578F388632B4F7");
  ck_assert_mem_hex(k.decrypt, "B0F0427F7CEB416D1D9DCC0CD4F99447");
  ck_assert_uint_eq(k.cipher_key_len, 16);
  /* [ENC30]; 3.0.2 uses the same labels */
  derive_hex(SMB2_DIALECT_302, SMB2_CIPHER_AES128_CCM,
             "B4546771B515F766A86735532DD6C4F0", NULL, &k);
  ck_assert_mem_hex(k.signing, "F773CD23C18FD1E08EE510CADA7CF852");
  ck_assert_mem_hex(k.encrypt, "261B72350558F2E9DCF613070383EDBF");
  ck_assert_mem_hex(k.decrypt, "8FE2B57EC34D2DB5B1A9727F526BBDB5");
}
END_TEST

START_TEST(keys_311) {
  struct smb2_keys k;
  /* [ANAT] 3.1.1 master session, AES-128-GCM */
  derive_hex(SMB2_DIALECT_311, SMB2_CIPHER_AES128_GCM,
             "270E1BA896585EEB7AF3472D3B4C75A7", pae_anat, &k);
  ck_assert_mem_hex(k.signing, "73FE7A9A77BEF0BDE49C650D8CCB5F76");
  ck_assert_mem_hex(k.encrypt, "629BCBC54422A0F572B97F45989B6073");
  ck_assert_mem_hex(k.decrypt, "E2AF0DCEFAC68DA71A0DFBD0D1350D74");
  /* without a cipher only the signing key is derived */
  derive_hex(SMB2_DIALECT_311, SMB2_CIPHER_NONE,
             "270E1BA896585EEB7AF3472D3B4C75A7", pae_anat, &k);
  ck_assert_mem_hex(k.signing, "73FE7A9A77BEF0BDE49C650D8CCB5F76");
  ck_assert_uint_eq(k.cipher_key_len, 0);
  /* [ENC311] A.1 (GCM) and A.2 (CCM) */
  derive_hex(SMB2_DIALECT_311, SMB2_CIPHER_AES128_GCM,
             "419FDDF34C1E001909D362AE7FB6AF79", pae_enc311_gcm, &k);
  ck_assert_mem_hex(k.signing, "8765949DFEAEE105CE9118B45BE988F0");
  ck_assert_mem_hex(k.encrypt, "A2F5E80E5D59103034F32E52F698E5EC");
  ck_assert_mem_hex(k.decrypt, "748C50868C90F302962A5C35F5F9A8BF");
  derive_hex(SMB2_DIALECT_311, SMB2_CIPHER_AES128_CCM,
             "07B7F69C1E2581662DF6987E88F9E891", pae_enc311_ccm, &k);
  ck_assert_mem_hex(k.signing, "3DCC82C5795AE27F383242761078C59B");
  ck_assert_mem_hex(k.encrypt, "DFAAA31AAE40A2485D47AC4DF09FDA1D");
  ck_assert_mem_hex(k.decrypt, "95C544AEF6072680DA1CE49A68A97FA6");
}
END_TEST

/* 32-byte session key 202122...3F, context pae_anat. Expected values from
 * Python hmac/hashlib (no published vector): AES-256 keys are derived
 * with L = 256 from the full key, the signing key from its first 16
 * bytes (MS-SMB2 3.2.5.3.1). */
static const char *const sk32 =
    "202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F";
static const char *const sk32_enc =
    "81F58D11B8A0A1A1B632F5DAB11A0C8FE716592C18644EF50EBE2995EED48EE8";
static const char *const sk32_dec =
    "F9966992C8F66AE39552C75524324B5A48D4288D1BAFB99378622F14BA492B35";

START_TEST(keys_311_aes256) {
  static const uint16_t ciphers[] = {SMB2_CIPHER_AES256_CCM,
                                     SMB2_CIPHER_AES256_GCM};
  for (size_t i = 0; i < 2; i++) {
    struct smb2_keys k;
    derive_hex(SMB2_DIALECT_311, ciphers[i], sk32, pae_anat, &k);
    ck_assert_uint_eq(k.cipher_key_len, 32);
    ck_assert_mem_hex(k.signing, "D23D497E7C70D42575D453017208C436");
    ck_assert_mem_hex(k.encrypt, sk32_enc);
    ck_assert_mem_hex(k.decrypt, sk32_dec);
  }
}
END_TEST

START_TEST(keys_2x_and_errors) {
  uint8_t sk[16], pa[64] = {0};
  struct smb2_keys k;
  memset(sk, 0x11, sizeof(sk));
  /* 2.0.2 / 2.1 sign with the session key itself (3.1.4.1) */
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_210, 0, sk, 16, NULL, &k),
                   0);
  ck_assert_mem_eq(k.signing, sk, 16);
  ck_assert_uint_eq(k.cipher_key_len, 0);
  /* a shorter key is zero-padded to 16 bytes (3.2.5.3.1) */
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_202, 0, sk, 8, NULL, &k),
                   0);
  ck_assert_mem_eq(k.signing, sk, 8);
  ck_assert_mem_eq(k.signing + 8, pa, 8);
  ck_assert_int_eq(smb2_derive_keys(0x0312, 0, sk, 16, pa, &k),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_311, 9, sk, 16, pa, &k),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_311, 0, sk, 16, NULL, &k),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_300, 0, sk, 0, NULL, &k),
                   SMBQ_ERR_INVAL);
}
END_TEST

/* ---- signing ------------------------------------------------------------ */

START_TEST(sign_cmac_vectors) {
  check_signed(SMB2_SIGNING_AES_CMAC, "73FE7A9A77BEF0BDE49C650D8CCB5F76",
               ss_rsp2, NULL); /* [ANAT] */
  check_signed(SMB2_SIGNING_AES_CMAC, "8765949DFEAEE105CE9118B45BE988F0",
               gcm_ss_rsp, NULL); /* [ENC311] A.1 */
  check_signed(SMB2_SIGNING_AES_CMAC, "3DCC82C5795AE27F383242761078C59B",
               ccm_ss_rsp, NULL); /* [ENC311] A.2 */
}
END_TEST

START_TEST(sign_hmac_vector) {
  /* 2.x: HMAC-SHA256 truncated to 16 bytes, keyed with the session key.
   * Expected value from Python: hmac.new(key, msg with zero signature,
   * sha256).digest()[:16]. */
  check_signed(SMB2_SIGNING_HMAC_SHA256, "270E1BA896585EEB7AF3472D3B4C75A7",
               ss_rsp2, "69F4B33F052C75B5F93906A96746A04E");
}
END_TEST

/* A CANCEL request (command 0x000C, MessageId 7) for the GMAC nonce's
 * IsCancel bit. */
static const char *const cancel_req =
    "FE534D4240000000000000000C00000000000000000000000700000000000000000000"
    "000000000019000000001000000000000000000000000000000000000004000000";

START_TEST(sign_gmac_vectors) {
  /* AES-GMAC, nonce = MessageId || le32(bits) (3.1.4.1). Expected values
   * from Python cryptography: AESGCM(key).encrypt(nonce, b"", msg with
   * zero signature). */
  const char *key = "73FE7A9A77BEF0BDE49C650D8CCB5F76";
  /* a response: SERVER_TO_REDIR set -> bit 0 */
  check_signed(SMB2_SIGNING_AES_GMAC, key, ss_rsp2,
               "75D05BAC99FF7FCC52A44C354381D559");
  /* a request: bits 0 */
  check_signed(SMB2_SIGNING_AES_GMAC, key, ss_req2,
               "DFEA099C289186FD9245442F1D263B3D");
  /* a CANCEL request: bit 1 */
  check_signed(SMB2_SIGNING_AES_GMAC, key, cancel_req,
               "A2C6719ACCBC6DD22B95C46BA82079A3");
}
END_TEST

START_TEST(sign_verify_all_algs) {
  uint8_t key[16], other[16], msg[120];
  memset(key, 0x3c, sizeof(key));
  memset(other, 0x3d, sizeof(other));
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (uint8_t)(i * 3);
  for (uint16_t alg = 0; alg < 3; alg++) {
    ck_assert_int_eq(smb2_sign(alg, key, msg, sizeof(msg)), 0);
    ck_assert_int_eq(smb2_verify(alg, key, msg, sizeof(msg)), 0);
    ck_assert_int_eq(smb2_verify(alg, other, msg, sizeof(msg)),
                     SMBQ_ERR_SIGNATURE);
    msg[100] ^= 1; /* body */
    ck_assert_int_eq(smb2_verify(alg, key, msg, sizeof(msg)),
                     SMBQ_ERR_SIGNATURE);
    msg[100] ^= 1;
    msg[49] ^= 1; /* signature */
    ck_assert_int_eq(smb2_verify(alg, key, msg, sizeof(msg)),
                     SMBQ_ERR_SIGNATURE);
    msg[49] ^= 1;
    /* a header-only message (64 bytes) can be signed too */
    ck_assert_int_eq(smb2_sign(alg, key, msg, 64), 0);
    ck_assert_int_eq(smb2_verify(alg, key, msg, 64), 0);
    smb2_sign(alg, key, msg, sizeof(msg));
  }
  /* GMAC binds the message id (its nonce) ... */
  smb2_sign(SMB2_SIGNING_AES_GMAC, key, msg, sizeof(msg));
  msg[24] ^= 1;
  ck_assert_int_eq(smb2_verify(SMB2_SIGNING_AES_GMAC, key, msg, sizeof(msg)),
                   SMBQ_ERR_SIGNATURE);
  msg[24] ^= 1;
  /* ... and the direction (SERVER_TO_REDIR) */
  msg[16] ^= 1;
  ck_assert_int_eq(smb2_verify(SMB2_SIGNING_AES_GMAC, key, msg, sizeof(msg)),
                   SMBQ_ERR_SIGNATURE);
  msg[16] ^= 1;
  ck_assert_int_eq(smb2_sign(9, key, msg, sizeof(msg)), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_verify(9, key, msg, sizeof(msg)), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_sign(0, key, msg, 63), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_verify(1, key, msg, 10), SMBQ_ERR_PROTO);
}
END_TEST

/* ---- encryption: published vectors ------------------------------------ */

START_TEST(encrypt_311_gcm_vectors) {
  /* [ENC311] A.1: requests with the EncryptionKey ... */
  const char *enc = "A2F5E80E5D59103034F32E52F698E5EC";
  const char *dec = "748C50868C90F302962A5C35F5F9A8BF";
  check_encrypt(SMB2_CIPHER_AES128_GCM, enc, 0x100000000025ULL,
                "C7D6822D269CAF48904C664C", gcm_write_req, gcm_write_req_enc);
  check_encrypt(SMB2_CIPHER_AES128_GCM, enc, 0x100000000025ULL,
                "D7AA8C6D36859243B715E0A6", gcm_read_req, gcm_read_req_enc);
  /* ... responses with the DecryptionKey */
  check_decrypt(SMB2_CIPHER_AES128_GCM, dec, gcm_write_rsp_enc,
                gcm_write_rsp);
  check_decrypt(SMB2_CIPHER_AES128_GCM, dec, gcm_read_rsp_enc, gcm_read_rsp);
}
END_TEST

START_TEST(encrypt_311_ccm_vectors) {
  /* [ENC311] A.2 */
  check_encrypt(SMB2_CIPHER_AES128_CCM, "DFAAA31AAE40A2485D47AC4DF09FDA1D",
                0x100000000021ULL, "9F6F1EAAD7E9F24AACD38F", ccm_write_req,
                ccm_write_req_enc);
  check_decrypt(SMB2_CIPHER_AES128_CCM, "95C544AEF6072680DA1CE49A68A97FA6",
                ccm_read_rsp_enc, ccm_read_rsp);
}
END_TEST

START_TEST(decrypt_300_vectors) {
  /* [ENC30] */
  size_t n;
  uint64_t sid = 0;
  uint8_t *in = unhex(v30_read_rsp_enc, &n);
  ck_assert_int_eq(smb2_transform_session_id(in, n, &sid), 0);
  ck_assert_uint_eq(sid, 0x8e40014000011ULL);
  free(in);
  const char *dec = "8FE2B57EC34D2DB5B1A9727F526BBDB5";
  check_decrypt(SMB2_CIPHER_AES128_CCM, dec, v30_write_rsp_enc,
                v30_write_rsp);
  check_decrypt(SMB2_CIPHER_AES128_CCM, dec, v30_read_rsp_enc, v30_read_rsp);
  /* the server's view of the request: non-zero Nonce padding accepted */
  check_decrypt(SMB2_CIPHER_AES128_CCM, "261B72350558F2E9DCF613070383EDBF",
                v30_write_req_enc, v30_write_req);
}
END_TEST

/* AES-256: [ENC311]'s GCM WRITE request under the sk32_enc key, nonce
 * 0102...0C (CCM: its first 11 bytes), SessionId 0x100000000025.
 * Expected bytes from Python cryptography (OpenSSL) AESGCM / AESCCM with
 * the transform header built from MS-SMB2 2.2.41. */
static const char *const gcm256_write_req_enc =
    "FD534D425B38A19FC2CCF99D05F40A4F2CBA71AF0102030405060708090A0B0C0000"
    "0000870000000000010025000000001000005987E2DB682F60A7111A08303F656A3D"
    "4F512DA208D172F34F328F0B21458DE2C2E69D5099582418E41BE57CC861877E8708"
    "3082003916BC22A4C5E2947A51900BE89325608E3998430D4F3D2D58BFD9FFD65CB0"
    "7D76112BED96BF6DEDAAEF3D7F5703680AF13533D2A8104C4B7EF21F78C5A978604F"
    "8227B408206CDE403E3E7F19308D7B0082";
static const char *const ccm256_write_req_enc =
    "FD534D427153ADE858A6D3AAB1D06A5A214EB4D30102030405060708090A0B000000"
    "00008700000000000100250000000010000069701103EE72D5ACABAB6FDD71851CD5"
    "D822488E46CBD0353E38A85786E2BDC7D59F05970299C94CE66CA97C064F8D647B5D"
    "1CCAE69584CD6BACE86CF7C69694C90BB8C7EB95624F56B3888F1C84764B2926D655"
    "0EC7BD954650932F7D974977C3962289B2B19AB80E629FEB7413ED7A41AC562BB982"
    "728E24A86EAEDAA102D7971C40D92884BE";

START_TEST(encrypt_aes256_vectors) {
  check_encrypt(SMB2_CIPHER_AES256_GCM, sk32_enc, 0x100000000025ULL,
                "0102030405060708090A0B0C", gcm_write_req,
                gcm256_write_req_enc);
  check_encrypt(SMB2_CIPHER_AES256_CCM, sk32_enc, 0x100000000025ULL,
                "0102030405060708090A0B", gcm_write_req,
                ccm256_write_req_enc);
}
END_TEST

/* ---- encryption: round trips, tampering, malformed headers ------------- */

static const uint16_t all_ciphers[] = {
    SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES256_CCM,
    SMB2_CIPHER_AES256_GCM};

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + seed);
  smbq_put_le32(p, 0x424D53FE);
}

START_TEST(round_trip_all_ciphers) {
  /* lengths around the 16-byte block size, and one large message */
  static const size_t lens[] = {64, 65, 79, 80, 81, 4096 + 3, 1u << 20};
  uint8_t key[32], nonce[16] = {1, 2, 3};
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 7);
  size_t max = 52 + (1u << 20);
  uint8_t *msg = malloc(max), *enc = malloc(max), *dec = malloc(max);
  for (size_t c = 0; c < 4; c++) {
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
      size_t len = lens[l], outlen = 0;
      fill(msg, len, (unsigned)(c + l));
      ck_assert_int_eq(
          smb2_encrypt(all_ciphers[c], key, 42, nonce, msg, len, enc), 0);
      ck_assert_uint_eq(smbq_le32_at(enc + 36), len);
      ck_assert_uint_eq(smbq_le64_at(enc + 44), 42);
      ck_assert_int_eq(smb2_decrypt(all_ciphers[c], key, enc, 52 + len, dec,
                                    &outlen),
                       0);
      ck_assert_uint_eq(outlen, len);
      ck_assert_mem_eq(dec, msg, len);
    }
  }
  free(msg);
  free(enc);
  free(dec);
}
END_TEST

/* Every single-bit flip in the tag, the AAD or the ciphertext is caught,
 * and the output buffer holds no plaintext afterwards. */
START_TEST(tamper_detected) {
  uint8_t key[32], other[32], nonce[16] = {9, 8, 7}, msg[100], enc[152],
                                  dec[100];
  memset(key, 0x42, sizeof(key));
  memset(other, 0x43, sizeof(other));
  fill(msg, sizeof(msg), 5);
  /* every byte of Signature, Nonce, Reserved and SessionId (not the
   * fields whose change is a protocol error), and some of the payload */
  static const size_t pos[] = {4,  19, 20, 30, 31, 35, 40,
                               41, 44, 51, 52, 60, 151};
  for (size_t c = 0; c < 4; c++) {
    size_t outlen = 1234;
    ck_assert_int_eq(smb2_encrypt(all_ciphers[c], key, 7, nonce, msg,
                                  sizeof(msg), enc),
                     0);
    for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
      enc[pos[i]] ^= 0x10;
      memset(dec, 0xEE, sizeof(dec));
      ck_assert_int_eq(smb2_decrypt(all_ciphers[c], key, enc, sizeof(enc),
                                    dec, &outlen),
                       SMBQ_ERR_SIGNATURE);
      enc[pos[i]] ^= 0x10;
      for (size_t j = 0; j < sizeof(dec); j++)
        ck_assert_uint_eq(dec[j], 0);
    }
    ck_assert_uint_eq(outlen, 1234); /* untouched on failure */
    ck_assert_int_eq(smb2_decrypt(all_ciphers[c], other, enc, sizeof(enc),
                                  dec, &outlen),
                     SMBQ_ERR_SIGNATURE);
    ck_assert_int_eq(smb2_decrypt(all_ciphers[c], key, enc, sizeof(enc), dec,
                                  &outlen),
                     0);
  }
  /* a message encrypted with one cipher does not open with another */
  ck_assert_int_eq(smb2_encrypt(SMB2_CIPHER_AES128_GCM, key, 7, nonce, msg,
                                sizeof(msg), enc),
                   0);
  size_t outlen;
  ck_assert_int_eq(smb2_decrypt(SMB2_CIPHER_AES128_CCM, key, enc, sizeof(enc),
                                dec, &outlen),
                   SMBQ_ERR_SIGNATURE);
}
END_TEST

START_TEST(malformed_transform) {
  uint8_t key[32] = {1}, nonce[16] = {0}, msg[64], enc[52 + 64], dec[64];
  size_t outlen;
  uint64_t sid;
  fill(msg, sizeof(msg), 1);
  for (size_t c = 0; c < 4; c++) {
    uint16_t ci = all_ciphers[c];
    ck_assert_int_eq(smb2_encrypt(ci, key, 1, nonce, msg, 64, enc), 0);
    /* OriginalMessageSize must match the frame */
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc) - 1, dec, &outlen),
                     SMBQ_ERR_PROTO);
    smbq_put_le32(enc + 36, 63);
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc) - 1, dec, &outlen),
                     SMBQ_ERR_PROTO); /* less than one SMB2 header */
    smbq_put_le32(enc + 36, 64);
    /* Flags must be 0x0001 */
    smbq_put_le16(enc + 42, 0);
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc), dec, &outlen),
                     SMBQ_ERR_PROTO);
    smbq_put_le16(enc + 42, 2);
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc), dec, &outlen),
                     SMBQ_ERR_PROTO);
    smbq_put_le16(enc + 42, 1);
    /* ProtocolId must be 0xFD 'S' 'M' 'B' */
    enc[0] = 0xFE;
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc), dec, &outlen),
                     SMBQ_ERR_PROTO);
    enc[0] = 0xFD;
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, sizeof(enc), dec, &outlen), 0);
    /* truncated below the header */
    ck_assert_int_eq(smb2_decrypt(ci, key, enc, 51, dec, &outlen),
                     SMBQ_ERR_PROTO);
  }
  ck_assert_int_eq(smb2_transform_session_id(enc, 51, &sid), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_transform_session_id(enc, 52, &sid), 0);
  ck_assert_uint_eq(sid, 1);
  /* caller errors */
  ck_assert_int_eq(smb2_decrypt(0, key, enc, sizeof(enc), dec, &outlen),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_encrypt(5, key, 1, nonce, msg, 64, enc),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(
      smb2_encrypt(SMB2_CIPHER_AES128_GCM, key, 1, nonce, msg, 63, enc),
      SMBQ_ERR_INVAL);
  ck_assert_uint_eq(smb2_cipher_nonce_len(SMB2_CIPHER_AES256_CCM), 11);
  ck_assert_uint_eq(smb2_cipher_nonce_len(SMB2_CIPHER_AES256_GCM), 12);
  ck_assert_uint_eq(smb2_cipher_nonce_len(0), 0);
  ck_assert_uint_eq(smb2_cipher_key_len(SMB2_CIPHER_AES128_GCM), 16);
  ck_assert_uint_eq(smb2_cipher_key_len(SMB2_CIPHER_AES256_GCM), 32);
  ck_assert_uint_eq(smb2_cipher_key_len(7), 0);
}
END_TEST

/* The primitives of lib/crypto on their own, with published vectors:
 * AES-CMAC fed in pieces (RFC 4493, example 2) and AES-128-GCM (McGrew &
 * Viega, test case 2); every AEAD round-trips in place and a bad tag
 * wipes the output. */
START_TEST(primitives) {
  size_t n;
  uint8_t *key = unhex("2B7E151628AED2A6ABF7158809CF4F3C", &n);
  uint8_t *m = unhex("6BC1BEE22E409F96E93D7E117393172A", &n);
  const struct smb2_crypto_buf parts[] = {{m, 5}, {NULL, 0}, {m + 5, 11}};
  uint8_t tag[SMB2_MAC_SIZE];
  ck_assert_int_eq(smb2_mac(SMB2_SIGNING_AES_CMAC, key, NULL, parts, 3, tag),
                   0);
  ck_assert_mem_hex(tag, "070A16B46B4D4144F79BDD9DD04A287C");
  ck_assert_int_eq(smb2_mac(9, key, NULL, parts, 3, tag), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_mac(SMB2_SIGNING_AES_GMAC, key, NULL, parts, 3, tag),
                   SMBQ_ERR_INVAL); /* GMAC needs its nonce */
  free(key);
  free(m);

  uint8_t zkey[32] = {0}, nonce[12] = {0}, buf[16] = {0};
  ck_assert_int_eq(smb2_aead_encrypt(SMB2_CIPHER_AES128_GCM, zkey, nonce,
                                     NULL, 0, buf, buf, sizeof(buf), tag),
                   0);
  ck_assert_mem_hex(buf, "0388DACE60B6A392F328C2B971B2FE78");
  ck_assert_mem_hex(tag, "AB6E47D42CEC13BDF53A67B21257BDDF");

  const uint16_t ciphers[] = {SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES128_GCM,
                              SMB2_CIPHER_AES256_CCM, SMB2_CIPHER_AES256_GCM};
  const uint8_t aad[32] = {1, 2, 3};
  for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++) {
    uint8_t data[100], orig[100];
    for (size_t j = 0; j < sizeof(data); j++)
      data[j] = orig[j] = (uint8_t)(j * 7 + i);
    ck_assert_int_eq(smb2_aead_encrypt(ciphers[i], zkey, nonce, aad,
                                       sizeof(aad), data, data, sizeof(data),
                                       tag),
                     0);
    ck_assert(memcmp(data, orig, sizeof(data)) != 0);
    uint8_t plain[100];
    ck_assert_int_eq(smb2_aead_decrypt(ciphers[i], zkey, nonce, aad,
                                       sizeof(aad), data, plain,
                                       sizeof(plain), tag),
                     0);
    ck_assert_mem_eq(plain, orig, sizeof(orig));
    tag[0] ^= 1;
    ck_assert_int_eq(smb2_aead_decrypt(ciphers[i], zkey, nonce, aad,
                                       sizeof(aad), data, data, sizeof(data),
                                       tag),
                     SMBQ_ERR_SIGNATURE);
    for (size_t j = 0; j < sizeof(data); j++)
      ck_assert_uint_eq(data[j], 0); /* wiped */
  }
  ck_assert_int_eq(smb2_aead_encrypt(7, zkey, nonce, NULL, 0, buf, buf,
                                     sizeof(buf), tag),
                   SMBQ_ERR_INVAL);
}
END_TEST

/* Split points for the pieces tests: aligned, odd, inside the header,
 * and every byte its own piece (split == 1). */
static const size_t splits[] = {1, 13, 16, 64, 80, 81, 95, 4096};

/* A message cut into pieces of `split` bytes (the last shorter), with the
 * first piece `first` bytes long: pieces[] and how many. */
static size_t cut(uint8_t *msg, size_t len, size_t first, size_t split,
                  struct smb2_crypto_iov *iov, size_t max) {
  size_t n = 0, off = 0;
  while (off < len) {
    size_t k = n == 0 ? first : split;
    if (k > len - off)
      k = len - off;
    ck_assert_uint_lt(n, max);
    iov[n++] = (struct smb2_crypto_iov){msg + off, k};
    off += k;
  }
  return n;
}

/* Decryption in place over pieces gives what decryption of the whole
 * gives, for every cipher and any cut; a tampered text wipes every
 * piece. */
START_TEST(decrypt_iov_matches_whole) {
  enum { LEN = 3000 };
  static struct smb2_crypto_iov iov[LEN + 1];
  uint8_t key[32], nonce[16] = {7, 6, 5};
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 11 + 1);
  uint8_t *msg = malloc(LEN), *enc = malloc(52 + LEN), *ct = malloc(LEN);
  fill(msg, LEN, 3);
  for (size_t c = 0; c < 4; c++) {
    ck_assert_int_eq(
        smb2_encrypt(all_ciphers[c], key, 42, nonce, msg, LEN, enc), 0);
    for (size_t sp = 0; sp < sizeof(splits) / sizeof(splits[0]); sp++) {
      memcpy(ct, enc + 52, LEN);
      size_t n = cut(ct, LEN, 81, splits[sp], iov, LEN + 1);
      ck_assert_int_eq(smb2_decrypt_iov(all_ciphers[c], key, enc, iov, n),
                       0);
      ck_assert_mem_eq(ct, msg, LEN);
    }
    /* the header peek sees the first bytes, unauthenticated */
    uint8_t peek[80];
    ck_assert_int_eq(smb2_decrypt_peek(all_ciphers[c], key, enc, 52 + LEN,
                                       peek, sizeof(peek)),
                     0);
    ck_assert_mem_eq(peek, msg, sizeof(peek));
    ck_assert_int_eq(smb2_decrypt_peek(all_ciphers[c], key, enc, 52 + LEN,
                                       peek, LEN + 1),
                     SMBQ_ERR_INVAL);
    /* one flipped bit: refused, and no plaintext left in any piece */
    memcpy(ct, enc + 52, LEN);
    ct[LEN - 1] ^= 1;
    size_t n = cut(ct, LEN, 81, 1000, iov, LEN + 1);
    ck_assert_int_eq(smb2_decrypt_iov(all_ciphers[c], key, enc, iov, n),
                     SMBQ_ERR_SIGNATURE);
    for (size_t i = 0; i < LEN; i++)
      ck_assert_uint_eq(ct[i], 0);
    /* OriginalMessageSize must be the pieces' total */
    memcpy(ct, enc + 52, LEN);
    n = cut(ct, LEN - 1, 81, 1000, iov, LEN + 1);
    ck_assert_int_eq(smb2_decrypt_iov(all_ciphers[c], key, enc, iov, n),
                     SMBQ_ERR_PROTO);
  }
  free(msg);
  free(enc);
  free(ct);
}
END_TEST

/* Verification over pieces agrees with verification of the whole for
 * every algorithm and any cut (GMAC and CMAC buffer partial blocks). */
START_TEST(verify_iov_matches_whole) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  enum { LEN = 2000 };
  uint8_t key[16], msg[LEN];
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i + 3);
  fill(msg, LEN, 9);
  smbq_put_le32(msg, 0x424D53FEu);
  for (size_t a = 0; a < 3; a++) {
    ck_assert_int_eq(smb2_sign(algs[a], key, msg, LEN), 0);
    static const size_t firsts[] = {64, 65, 80, 81, 95, 96, 1999};
    for (size_t f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
      for (size_t k = 1; k <= 4; k++) { /* 1 to 5 pieces */
        struct smb2_crypto_buf parts[5];
        size_t off = firsts[f], n = 1;
        parts[0] = (struct smb2_crypto_buf){msg, off};
        size_t each = (LEN - off + k - 1) / k;
        while (off < LEN) {
          size_t m = each < LEN - off ? each : LEN - off;
          parts[n++] = (struct smb2_crypto_buf){msg + off, m};
          off += m;
        }
        ck_assert_int_eq(smb2_verify_iov(algs[a], key, parts, n), 0);
        msg[LEN - 1] ^= 1;
        ck_assert_int_eq(smb2_verify_iov(algs[a], key, parts, n),
                         SMBQ_ERR_SIGNATURE);
        msg[LEN - 1] ^= 1;
      }
    }
    struct smb2_crypto_buf short_hdr = {msg, 63};
    ck_assert_int_eq(smb2_verify_iov(algs[a], key, &short_hdr, 1),
                     SMBQ_ERR_PROTO);
  }
}
END_TEST

/* smb2_mac over many pieces (more than the GMAC's 8 on the stack), some
 * empty and of odd sizes, equals the MAC of the joined bytes. */
START_TEST(mac_many_parts_matches_whole) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  enum { LEN = 3001, NP = 40 };
  uint8_t key[16], msg[LEN], whole[SMB2_MAC_SIZE], split[SMB2_MAC_SIZE];
  static const uint8_t nonce[12] = {7, 6, 5, 4, 3, 2, 1};
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 5 + 1);
  fill(msg, LEN, 4);
  struct smb2_crypto_buf one = {msg, LEN}, parts[NP];
  size_t off = 0;
  for (size_t i = 0; i < NP; i++) {
    size_t m = i == NP - 1 ? LEN - off : (i % 5 == 2 ? 0 : i * 3 + 1);
    parts[i] = (struct smb2_crypto_buf){msg + off, m};
    off += m;
  }
  ck_assert_uint_eq(off, LEN);
  for (size_t a = 0; a < 3; a++) {
    ck_assert_int_eq(smb2_mac(algs[a], key, nonce, &one, 1, whole), 0);
    ck_assert_int_eq(smb2_mac(algs[a], key, nonce, parts, NP, split), 0);
    ck_assert_mem_eq(whole, split, SMB2_MAC_SIZE);
  }
}
END_TEST

/* Signing in pieces (a WRITE with its data in the caller's buffer) gives
 * the signature of the joined message, whatever the split; the pieces
 * are not written. */
START_TEST(sign_iov_matches_whole) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  enum { LEN = 1500 };
  uint8_t key[16], whole[LEN], split[LEN];
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 7 + 1);
  fill(whole, LEN, 4);
  smbq_put_le32(whole, 0x424D53FEu);
  for (size_t a = 0; a < 3; a++) {
    memcpy(split, whole, LEN);
    ck_assert_int_eq(smb2_sign(algs[a], key, whole, LEN), 0);
    static const size_t firsts[] = {64, 65, 112, 113, 1499};
    for (size_t f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
      for (size_t k = 1; k <= 4; k++) {
        struct smb2_crypto_buf rest[4];
        size_t off = firsts[f], n = 0;
        size_t each = (LEN - off + k - 1) / k;
        while (off < LEN) {
          size_t m = each < LEN - off ? each : LEN - off;
          rest[n++] = (struct smb2_crypto_buf){split + off, m};
          off += m;
        }
        memset(split + 48, 0x77, 16); /* stale signature: ignored */
        ck_assert_int_eq(
            smb2_sign_iov(algs[a], key, split, firsts[f], rest, n), 0);
        ck_assert_mem_eq(split, whole, LEN);
      }
    }
    ck_assert_int_eq(smb2_sign_iov(algs[a], key, split, 63, NULL, 0),
                     SMBQ_ERR_PROTO);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("crypto");
  TCase *keys = tcase_create("keys");
  tcase_add_test(keys, preauth_chain);
  tcase_add_test(keys, kdf_raw);
  tcase_add_test(keys, keys_300);
  tcase_add_test(keys, keys_311);
  tcase_add_test(keys, keys_311_aes256);
  tcase_add_test(keys, keys_2x_and_errors);
  suite_add_tcase(s, keys);
  TCase *sign = tcase_create("signing");
  tcase_add_test(sign, sign_cmac_vectors);
  tcase_add_test(sign, sign_hmac_vector);
  tcase_add_test(sign, sign_gmac_vectors);
  tcase_add_test(sign, mac_many_parts_matches_whole);
  tcase_add_test(sign, sign_verify_all_algs);
  suite_add_tcase(s, sign);
  TCase *enc = tcase_create("encryption");
  tcase_add_test(enc, encrypt_311_gcm_vectors);
  tcase_add_test(enc, encrypt_311_ccm_vectors);
  tcase_add_test(enc, decrypt_300_vectors);
  tcase_add_test(enc, encrypt_aes256_vectors);
  tcase_add_test(enc, round_trip_all_ciphers);
  tcase_add_test(enc, tamper_detected);
  tcase_add_test(enc, malformed_transform);
  tcase_add_test(enc, decrypt_iov_matches_whole);
  tcase_add_test(sign, verify_iov_matches_whole);
  tcase_add_test(sign, sign_iov_matches_whole);
  suite_add_tcase(s, enc);
  TCase *prim = tcase_create("primitives");
  tcase_add_test(prim, primitives);
  suite_add_tcase(s, prim);
  return run_suite(s);
}
