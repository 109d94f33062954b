/* smbq exit codes (documented in smbq(1)); scripts rely on these values. */
#ifndef SMBQ_CLI_EXITCODES_H
#define SMBQ_CLI_EXITCODES_H

enum smbq_exit {
  SMBQ_EXIT_OK = 0,
  SMBQ_EXIT_OTHER = 1,     /* any other failure */
  SMBQ_EXIT_USAGE = 2,     /* bad command line */
  SMBQ_EXIT_AUTH = 3,      /* authentication failed / guest refused */
  SMBQ_EXIT_NOTFOUND = 4,  /* not found or access denied */
  SMBQ_EXIT_NET = 5,       /* network / transport */
  SMBQ_EXIT_CERT = 6,      /* certificate / TLS */
};

/* Map a library error (SMBQ_ERR_*) to an exit code. */
int smbq_exit_from_err(int err);

#endif
