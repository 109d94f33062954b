/* libFuzzer harness: every SMB2 reply decoder of lib/smb2 (smb2_pdu.h,
 * smb2_hdr.h), with what it hands back walked and bounds-checked.
 *
 * Input: one selector byte, then the bytes for the decoder it picks
 * (selector % N_DECODERS, the table below). Whole-message decoders get
 * a 64-byte SMB2 header and a body, as the connection core hands them
 * over (NEGOTIATE with its contexts, CREATE with its create contexts:
 * lease v1/v2, durable handle DHnQ/DH2Q replies, and the rest of the
 * chain walked; QUERY_DIRECTORY with its entries in both information
 * classes; QUERY_INFO with the file and file system information
 * structures; IOCTL with VALIDATE_NEGOTIATE_INFO; break notifications
 * and acknowledgement replies). The raw decoders (a lease context's
 * data, a create context chain, a directory listing, an information
 * buffer) get the bytes as they are. */
#include <stdbool.h>

#include "fuzz_util.h"
#include "smb2/smb2_hdr.h"
#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"

static void walk_create_ctx(const uint8_t *buf, size_t len,
                            const uint8_t *base, size_t base_len) {
  struct smb2_create_ctx_iter it;
  struct smb2_create_ctx c;
  smb2_create_ctx_iter_init(&it, buf, len);
  unsigned n = 0;
  while (smb2_create_ctx_next(&it, &c) == 1) {
    fuzz_in(c.name, c.name_len, base, base_len, "create context name");
    fuzz_in(c.data, c.data_len, base, base_len, "create context data");
    if (c.name_len == 4 && !memcmp(c.name, "RqLs", 4)) {
      struct smb2_lease l;
      smb2_decode_lease_ctx(c.data, c.data_len, &l);
    }
    if (++n > len) /* each context is at least 16 bytes: cannot loop */
      FUZZ_FAIL("create context chain does not advance");
  }
}

static void dec_create(const uint8_t *m, size_t n) {
  struct smb2_create_rsp r;
  if (smb2_decode_create_rsp(m, n, &r) < 0)
    return;
  fuzz_in(r.contexts, r.contexts_len, m, n, "CREATE contexts");
  walk_create_ctx(r.contexts, r.contexts_len, m, n);
  struct smb2_lease l;
  smb2_create_rsp_lease(&r, &l);
  struct smb2_durable_rsp d;
  smb2_create_rsp_durable(&r, &d);
}

static void walk_dir(uint8_t cls, const uint8_t *buf, size_t len,
                     const uint8_t *base, size_t base_len) {
  struct smb2_dir_iter it;
  struct smb2_dir_entry e;
  smb2_dir_iter_init_class(&it, cls, buf, len);
  unsigned n = 0;
  while (smb2_dir_next(&it, &e) == 1) {
    fuzz_in(e.name, e.name_len, base, base_len, "directory entry name");
    fuzz_in(e.short_name, e.short_name_len, base, base_len,
            "directory entry short name");
    if (++n > len)
      FUZZ_FAIL("directory listing does not advance");
  }
}

static void dec_query_dir(const uint8_t *m, size_t n) {
  const uint8_t *buf;
  size_t blen;
  if (smb2_decode_query_dir_rsp(m, n, &buf, &blen) < 0)
    return;
  fuzz_in(buf, blen, m, n, "QUERY_DIRECTORY buffer");
  walk_dir(SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION, buf, blen, m, n);
  walk_dir(SMB2_FILE_DIRECTORY_INFORMATION, buf, blen, m, n);
}

/* Every information structure we decode, on one buffer. */
static void dec_info_buf(const uint8_t *buf, size_t len, const uint8_t *base,
                         size_t base_len) {
  struct smb2_file_all_info all;
  if (smb2_decode_file_all_info(buf, len, &all) == 0)
    fuzz_in(all.name, all.name_len, base, base_len, "FileAllInformation name");
  struct smb2_file_basic_info bi;
  smb2_decode_file_basic_info(buf, len, &bi);
  struct smb2_file_standard_info si;
  smb2_decode_file_standard_info(buf, len, &si);
  struct smb2_file_network_open_info ni;
  smb2_decode_file_network_open_info(buf, len, &ni);
  struct smb2_fs_size fs;
  smb2_decode_fs_size(buf, len, &fs);
  struct smb2_fs_volume_info vi;
  if (smb2_decode_fs_volume_info(buf, len, &vi) == 0)
    fuzz_in(vi.label, vi.label_len, base, base_len, "volume label");
  struct smb2_fs_full_size ff;
  smb2_decode_fs_full_size(buf, len, &ff);
  struct smb2_validate_negotiate_rsp vn;
  smb2_decode_validate_negotiate(buf, len, &vn);
}

static void dec_query_info(const uint8_t *m, size_t n) {
  const uint8_t *buf;
  size_t blen;
  if (smb2_decode_query_info_rsp(m, n, &buf, &blen) < 0)
    return;
  fuzz_in(buf, blen, m, n, "QUERY_INFO buffer");
  dec_info_buf(buf, blen, m, n);
}

static void dec_negotiate(const uint8_t *m, size_t n) {
  struct smb2_negotiate_rsp r;
  if (smb2_decode_negotiate_rsp(m, n, &r) < 0)
    return;
  fuzz_in(r.security_buffer, r.security_len, m, n, "NEGOTIATE token");
  fuzz_in(r.preauth_salt, r.preauth_salt_len, m, n, "NEGOTIATE salt");
}

static void dec_session(const uint8_t *m, size_t n) {
  struct smb2_session_setup_rsp r;
  if (smb2_decode_session_setup_rsp(m, n, &r) == 0)
    fuzz_in(r.token, r.token_len, m, n, "SESSION_SETUP token");
}

static void dec_tree(const uint8_t *m, size_t n) {
  struct smb2_tree_connect_rsp r;
  smb2_decode_tree_connect_rsp(m, n, &r);
}

static void dec_close(const uint8_t *m, size_t n) {
  struct smb2_close_rsp r;
  smb2_decode_close_rsp(m, n, &r);
}

static void dec_read(const uint8_t *m, size_t n) {
  struct smb2_read_rsp r;
  if (smb2_decode_read_rsp(m, n, &r) == 0)
    fuzz_in(r.data, r.data_len, m, n, "READ data");
}

static void dec_write(const uint8_t *m, size_t n) {
  uint32_t count;
  smb2_decode_write_rsp(m, n, &count);
}

static void dec_ioctl(const uint8_t *m, size_t n) {
  struct smb2_ioctl_rsp r;
  if (smb2_decode_ioctl_rsp(m, n, &r) < 0)
    return;
  fuzz_in(r.output, r.output_len, m, n, "IOCTL output");
  fuzz_in(r.input, r.input_len, m, n, "IOCTL input");
  struct smb2_validate_negotiate_rsp vn;
  smb2_decode_validate_negotiate(r.output, r.output_len, &vn);
}

/* The 4-byte bodies and the others without a buffer. */
static void dec_small(const uint8_t *m, size_t n) {
  smb2_decode_empty_rsp(m, n);
  smb2_decode_logoff_rsp(m, n);
  smb2_decode_tree_disconnect_rsp(m, n);
  smb2_decode_echo_rsp(m, n);
  smb2_decode_flush_rsp(m, n);
  smb2_decode_set_info_rsp(m, n);
  smb2_decode_error_rsp(m, n);
}

static void dec_breaks(const uint8_t *m, size_t n) {
  struct smb2_break_notify b;
  smb2_decode_break_notify(m, n, &b);
  uint8_t level, fid[16], key[16];
  uint32_t state;
  smb2_decode_oplock_break_rsp(m, n, &level, fid);
  smb2_decode_lease_break_rsp(m, n, key, &state);
}

/* As the connection core sees a reply: the header, the descriptor table
 * (or the error body), then the decoder of the header's command. */
static void dec_by_command(const uint8_t *m, size_t n) {
  struct smb2_hdr h;
  if (smb2_hdr_decode(m, n, &h) < 0)
    return;
  if (smb2_check_rsp_size(m, n) < 0)
    return;
  if (NT_STATUS_IS_ERROR(h.status)) {
    smb2_decode_error_rsp(m, n);
    return;
  }
  switch (h.command) {
  case SMB2_NEGOTIATE: dec_negotiate(m, n); break;
  case SMB2_SESSION_SETUP: dec_session(m, n); break;
  case SMB2_TREE_CONNECT: dec_tree(m, n); break;
  case SMB2_CREATE: dec_create(m, n); break;
  case SMB2_CLOSE: dec_close(m, n); break;
  case SMB2_READ: dec_read(m, n); break;
  case SMB2_WRITE: dec_write(m, n); break;
  case SMB2_IOCTL: dec_ioctl(m, n); break;
  case SMB2_QUERY_DIRECTORY: dec_query_dir(m, n); break;
  case SMB2_QUERY_INFO: dec_query_info(m, n); break;
  case SMB2_OPLOCK_BREAK: dec_breaks(m, n); break;
  default: dec_small(m, n); break;
  }
}

static void raw_lease(const uint8_t *p, size_t n) {
  struct smb2_lease l;
  smb2_decode_lease_ctx(p, n, &l);
}

static void raw_create_ctx(const uint8_t *p, size_t n) {
  walk_create_ctx(p, n, p, n);
  /* and as a reply's chain, for the lease and durable lookups */
  struct smb2_create_rsp r;
  memset(&r, 0, sizeof(r));
  r.contexts = n ? p : NULL;
  r.contexts_len = n;
  struct smb2_lease l;
  smb2_create_rsp_lease(&r, &l);
  struct smb2_durable_rsp d;
  smb2_create_rsp_durable(&r, &d);
}

static void raw_dir(const uint8_t *p, size_t n) {
  walk_dir(SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION, p, n, p, n);
  walk_dir(SMB2_FILE_DIRECTORY_INFORMATION, p, n, p, n);
  walk_dir(0, p, n, p, n);
}

static void raw_info(const uint8_t *p, size_t n) { dec_info_buf(p, n, p, n); }

static void raw_hdr(const uint8_t *p, size_t n) {
  struct smb2_hdr h;
  smb2_hdr_decode(p, n, &h);
  smb2_check_rsp_size(p, n);
  const uint8_t *buf;
  size_t blen;
  if (smb2_decode_out_buffer(p, n, &buf, &blen) == 0)
    fuzz_in(buf, blen, p, n, "output buffer");
}

typedef void (*decode_fn)(const uint8_t *p, size_t n);

/* The selector's table; tests/fuzz/gen_corpus.py writes seeds with these
 * numbers (keep them in step). */
static const decode_fn decoders[] = {
    dec_by_command, /* 0 */
    dec_negotiate,  /* 1 */
    dec_session,    /* 2 */
    dec_tree,       /* 3 */
    dec_create,     /* 4 */
    dec_close,      /* 5 */
    dec_read,       /* 6 */
    dec_write,      /* 7 */
    dec_ioctl,      /* 8 */
    dec_query_dir,  /* 9 */
    dec_query_info, /* 10 */
    dec_breaks,     /* 11 */
    dec_small,      /* 12 */
    raw_lease,      /* 13 */
    raw_create_ctx, /* 14 */
    raw_dir,        /* 15 */
    raw_info,       /* 16 */
    raw_hdr,        /* 17 */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t n_dec = sizeof(decoders) / sizeof(decoders[0]);
  /* an exact-size copy: ASan's redzone starts right after the last byte */
  uint8_t *m = fuzz_dup(data + 1, size - 1);
  decoders[data[0] % n_dec](m, size - 1);
  free(m);
  return 0;
}
