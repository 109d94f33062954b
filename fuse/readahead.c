/* Larger kernel readahead for the mount.
 *
 * A FUSE mount gets the kernel's default readahead window (128 KiB), so
 * sequential reads arrive as 128 KiB requests whatever max_pages allows.
 * Like cifs.ko, which sizes readahead from the SMB read size, raise it
 * through the mount's backing device in sysfs. The device number comes
 * from /proc/self/mountinfo: a stat() of the mount point would need the
 * file system to answer, and it is not serving yet. Best effort: without
 * the privilege to write sysfs the default stays. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "readahead.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void escape_path(const char *in, char *out, size_t cap) {
  size_t n = 0;
  for (; *in && n + 5 < cap; in++) {
    if (strchr(" \t\n\\", *in))
      n += (size_t)snprintf(out + n, cap - n, "\\%03o", (unsigned char)*in);
    else
      out[n++] = *in;
  }
  out[n] = '\0';
}

/* "MAJ:MIN" of the mount at `mountpoint` (the last one listed). */
static int find_dev(const char *mountpoint, char *dev, size_t cap) {
  char want[4096];
  escape_path(mountpoint, want, sizeof(want));
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return -1;
  char line[8192], d[64], mp[4096];
  int found = -1;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "%*s %*s %63s %*s %4095s", d, mp) == 2 &&
        strcmp(mp, want) == 0) {
      snprintf(dev, cap, "%s", d);
      found = 0;
    }
  fclose(f);
  return found;
}

void mount_raise_readahead(const char *mountpoint, unsigned kib) {
  char dev[64], path[128];
  if (find_dev(mountpoint, dev, sizeof(dev)) < 0)
    return;
  snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
  FILE *f = fopen(path, "we");
  if (!f)
    return;
  fprintf(f, "%u\n", kib);
  if (fclose(f) != 0)
    mlog(LOG_DEBUG, "cannot set %s", path);
}
