/* Transfer counters and the progress bar of smbq cp.
 *
 * The counters are always kept (the --json summary reads them); the bar is
 * drawn on stderr only when enabled, by a thread of its own that redraws
 * one line every 250 ms: files done/seen, bytes done/total, percent, rate
 * and ETA. Totals grow while the source tree is still being walked; a '+'
 * after them says so until progress_walk_done(). */
#ifndef SMBQ_CLI_PROGRESS_H
#define SMBQ_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress;

struct progress_counts {
  uint64_t files_seen;   /* files found in the sources */
  uint64_t files_done;   /* copied, skipped or failed */
  uint64_t files_copied;
  uint64_t files_skipped; /* --resume: already complete */
  uint64_t files_failed;
  uint64_t bytes_total;  /* sizes of the files seen, less skipped ones */
  uint64_t bytes_done;   /* acknowledged, plus prefixes kept by --resume */
  uint64_t bytes_copied; /* moved by this run */
  double seconds;        /* since progress_start */
};

/* Start counting; with draw, also start drawing on stderr. Returns NULL
 * when out of memory. Free with progress_stop(). */
struct progress *progress_start(bool draw);

/* A file of `bytes` was found and queued. */
void progress_add_file(struct progress *p, uint64_t bytes);
/* The walk is over: the totals are final. */
void progress_walk_done(struct progress *p);
/* `bytes` were acknowledged by the destination. */
void progress_add_copied(struct progress *p, uint64_t bytes);
/* --resume kept a prefix of `bytes` (counted done, not copied). */
void progress_add_kept(struct progress *p, uint64_t bytes);
/* A file finished: copied, or failed (its bytes stay in the totals). */
void progress_file_copied(struct progress *p);
void progress_file_failed(struct progress *p);
/* --resume found the file complete: it leaves the totals. */
void progress_file_skipped(struct progress *p, uint64_t bytes);

void progress_get(struct progress *p, struct progress_counts *out);

/* Print a message line on stderr without garbling the bar (it is
 * redrawn at the next tick). */
void progress_msg(struct progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Stop drawing, print the final line (when drawing), join the thread and
 * free. Safe with NULL. */
void progress_stop(struct progress *p);

/* "12.3 MB": decimal units, as in the rate (MB/s). */
void progress_fmt_bytes(double bytes, char *buf, size_t len);

#endif
