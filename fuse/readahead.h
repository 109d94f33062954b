#ifndef SMBQ_MOUNT_READAHEAD_H
#define SMBQ_MOUNT_READAHEAD_H

/* Set the kernel readahead of the FUSE mount at mountpoint (absolute) to
 * kib KiB, if we may. */
void mount_raise_readahead(const char *mountpoint, unsigned kib);

#endif
