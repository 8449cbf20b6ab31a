/* Lethe — what every fuzz target shares.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each target defines LLVMFuzzerTestOneInput() and calls fuzz_init() once.
 * Bad input must end in a GError, never in a crash, a sanitizer report, a
 * leak or a GLib critical: criticals abort here so the fuzzer records them.
 */
#ifndef LETHE_FUZZ_COMMON_H
#define LETHE_FUZZ_COMMON_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Messages for bad input are expected by the thousand: drop them, but
 * keep criticals and errors fatal (they mean a broken invariant). */
static GLogWriterOutput
fuzz_log_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  /* abort(), not GLib's breakpoint trap: libFuzzer saves the input on SIGABRT. */
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
    g_log_writer_default(level, fields, n_fields, user_data);
    abort();
  }
  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_init(void)
{
  g_log_set_writer_func(fuzz_log_writer, NULL, NULL);
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
}

/* A file holding @data, named /proc/self/fd/N, for readers that take a
 * path.  Lives in memory (memfd); close the returned fd when done. */
static inline int
fuzz_memfd(const uint8_t *data, size_t size, char path[64])
{
  int fd = memfd_create("lethe-fuzz", MFD_CLOEXEC);
  g_assert(fd >= 0);
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    g_assert(n > 0);
    done += (size_t)n;
  }
  g_snprintf(path, 64, "/proc/self/fd/%d", fd);
  return fd;
}

#endif /* LETHE_FUZZ_COMMON_H */
