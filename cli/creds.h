/* Where the CLI gets a password: --password-file, SMBQ_PASSWORD, or a
 * prompt on the terminal without echo. */
#ifndef SMBQ_CLI_CREDS_H
#define SMBQ_CLI_CREDS_H

#include <stddef.h>

/* Read the first line of path (mode must not allow others to read it).
 * Returns a malloc'd string (caller wipes and frees) or NULL with err. */
char *smbq_read_password_file(const char *path, char *err, size_t errlen);

/* Prompt on /dev/tty without echo. NULL if there is no terminal. */
char *smbq_prompt_password(const char *user, const char *host);

/* Wipe and free. */
void smbq_free_secret(char *s);

#endif
