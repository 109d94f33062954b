/* Where smbq and smbq-mount get credentials: a credentials file
 * (username=/password=/domain=), --password-file, SMBQ_PASSWORD, or a
 * prompt on the terminal without echo. Files holding secrets are refused
 * when others may read them. */
#ifndef SMBQ_CLI_CREDS_H
#define SMBQ_CLI_CREDS_H

#include <stddef.h>

struct cli;

/* Read the first line of path (mode must not allow others to read it).
 * Returns a malloc'd string (caller wipes and frees) or NULL with err. */
char *smbq_read_password_file(const char *path, char *err, size_t errlen);

/* Prompt on /dev/tty without echo. NULL if there is no terminal. */
char *smbq_prompt_password(const char *user, const char *host);

/* Wipe and free. */
void smbq_free_secret(char *s);

/* A parsed credentials file (the mount.cifs format):
 *   username=USER     (also user=)
 *   password=SECRET   (also pass=; the rest of the line, spaces included)
 *   domain=DOMAIN     (also dom=, workgroup=)
 * Blank lines and lines starting with '#' are ignored; other keys are an
 * error. Every field is optional. */
struct smbq_creds {
  char user[256];
  char domain[256];
  char *password; /* malloc'd or NULL; smbq_creds_clear wipes it */
};

/* Parse path into c (the file must not be readable by others). Returns 0,
 * or -1 with a message in err and c cleared. */
int smbq_read_credentials(const char *path, struct smbq_creds *c, char *err,
                          size_t errlen);

/* Wipe the password and clear every field. */
void smbq_creds_clear(struct smbq_creds *c);

/* --credentials FILE / -o credentials=FILE: the file's user name (with its
 * domain as DOMAIN\user) becomes cli->user unless one was given before,
 * and its password replaces cli->password, so it is used ahead of
 * --password-file, SMBQ_PASSWORD and the prompt. Prints the error
 * (prefixed with the program name) and returns -1 on failure. */
int cli_use_credentials(struct cli *cli, const char *path);

#endif
