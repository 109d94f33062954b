/* smbq shares //host: the server's shares, as `net view \\host` lists
 * them (smbq_share_enum: srvsvc over IPC$). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exitcodes.h"

static const char *share_type_name(enum smbq_share_type t) {
  static const char *const names[] = {
      [SMBQ_SHARE_DISK] = "disk",     [SMBQ_SHARE_PRINTER] = "printer",
      [SMBQ_SHARE_DEVICE] = "device", [SMBQ_SHARE_IPC] = "ipc",
      [SMBQ_SHARE_OTHER] = "other",
  };
  return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "other";
}

/* "hidden", "special", "temporary", comma-separated, "" for none. */
static void share_flags(const struct smbq_share_info *s, char *buf,
                        size_t len) {
  snprintf(buf, len, "%s%s%s%s%s", s->hidden ? "hidden" : "",
           s->hidden && (s->special || s->temporary) ? "," : "",
           s->special ? "special" : "",
           s->special && s->temporary ? "," : "",
           s->temporary ? "temporary" : "");
}

/* Columns on screen: UTF-8 code points (continuation bytes don't count). */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

/* Server text on a terminal: control characters (escape sequences from
 * a hostile server) are shown as '?'. */
static void put_text(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    putchar(*p < 0x20 || *p == 0x7F ? '?' : *p);
}

static void print_cell(const char *s, size_t width) {
  put_text(s);
  for (size_t w = text_width(s); w < width; w++)
    putchar(' ');
}

/* The cells padded to their column, without blanks at the end. */
static void print_row(const char *const cells[4], const size_t *w) {
  int last = 3;
  while (last > 0 && !cells[last][0])
    last--;
  for (int i = 0; i < last; i++)
    print_cell(cells[i], w[i] + 2);
  put_text(cells[last]);
  putchar('\n');
}

static void print_text(const struct smbq_share_info *v, size_t n) {
  size_t w[3] = {strlen("Share"), strlen("Type"), strlen("Flags")};
  char flags[40];
  for (size_t i = 0; i < n; i++) {
    share_flags(&v[i], flags, sizeof(flags));
    size_t nw = text_width(v[i].name), tw = strlen(share_type_name(v[i].type));
    w[0] = nw > w[0] ? nw : w[0];
    w[1] = tw > w[1] ? tw : w[1];
    w[2] = strlen(flags) > w[2] ? strlen(flags) : w[2];
  }
  const char *const head[4] = {"Share", "Type", "Flags", "Comment"};
  print_row(head, w);
  for (size_t i = 0; i < n; i++) {
    share_flags(&v[i], flags, sizeof(flags));
    const char *const row[4] = {v[i].name, share_type_name(v[i].type), flags,
                                v[i].comment};
    print_row(row, w);
  }
}

static void print_json(const struct smbq_share_info *v, size_t n) {
  printf("[");
  for (size_t i = 0; i < n; i++) {
    printf(i ? ",\n  {\"name\":" : "\n  {\"name\":");
    cli_json_str(stdout, v[i].name);
    printf(",\"type\":\"%s\",\"hidden\":%s,\"special\":%s,"
           "\"temporary\":%s,\"raw_type\":%u,\"comment\":",
           share_type_name(v[i].type), v[i].hidden ? "true" : "false",
           v[i].special ? "true" : "false",
           v[i].temporary ? "true" : "false", (unsigned)v[i].raw_type);
    cli_json_str(stdout, v[i].comment);
    printf("}");
  }
  printf("\n]\n");
}

int cmd_shares(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  int rc = cli_open_server(cli, argv[0], &s);
  if (rc)
    return rc;
  struct smbq_share_info *v;
  size_t n;
  int err = smbq_share_enum(s.conn, &v, &n);
  if (err < 0) {
    rc = cli_fail(&s, err, "cannot list the shares of %s", s.url.host);
    cli_close(&s);
    return rc;
  }
  if (cli->json)
    print_json(v, n);
  else
    print_text(v, n);
  smbq_share_enum_free(v, n);
  cli_close(&s);
  return SMBQ_EXIT_OK;
}
