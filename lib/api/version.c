#include "smbq/smbq.h"

const char *smbq_version(void) { return "0.1.0"; }
