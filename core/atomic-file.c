/* Lethe — atomic file replacement: temporary file, fsync, rename, fsync dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <lethe/error.h>
#include <lethe/fileutil.h>

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <unistd.h>

struct _LetheAtomicFile {
  char *path;
  char *tmp_path;
  int fd;
};

static gboolean
set_errno_error(GError **error, int err, const char *what, const char *path)
{
  g_set_error(error, LETHE_ERROR, LETHE_ERROR_IO, "%s '%s': %s", what, path, g_strerror(err));
  return FALSE;
}

LetheAtomicFile *
lethe_atomic_file_new(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);

  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *tmpl = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_errno_error(error, errno, "cannot create a temporary file for", path);
    return NULL;
  }
  LetheAtomicFile *file = g_new0(LetheAtomicFile, 1);
  file->path = g_strdup(path);
  file->tmp_path = g_steal_pointer(&tmpl);
  file->fd = fd;
  return file;
}

gboolean
lethe_atomic_file_write(LetheAtomicFile *file, const void *data, gsize length, GError **error)
{
  const guint8 *p = data;

  while (length > 0) {
    ssize_t n = write(file->fd, p, length);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return set_errno_error(error, errno, "cannot write", file->path);
    }
    p += n;
    length -= (gsize)n;
  }
  return TRUE;
}

gboolean
lethe_atomic_file_printf(LetheAtomicFile *file, GError **error, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *text = g_strdup_vprintf(format, args);
  va_end(args);
  return lethe_atomic_file_write(file, text, strlen(text), error);
}

static void
sync_dir(const char *path)
{
  g_autofree char *dir = g_path_get_dirname(path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

gboolean
lethe_atomic_file_commit(LetheAtomicFile *file, GError **error)
{
  gboolean ok = TRUE;

  if (fsync(file->fd) != 0) {
    ok = set_errno_error(error, errno, "cannot flush", file->path);
    goto out;
  }
  if (close(file->fd) != 0) {
    file->fd = -1;
    ok = set_errno_error(error, errno, "cannot close", file->path);
    goto out;
  }
  file->fd = -1;
  if (g_rename(file->tmp_path, file->path) != 0) {
    ok = set_errno_error(error, errno, "cannot rename into place", file->path);
    goto out;
  }
  sync_dir(file->path);
  g_clear_pointer(&file->tmp_path, g_free);
out:
  lethe_atomic_file_abort(file);
  return ok;
}

void
lethe_atomic_file_abort(LetheAtomicFile *file)
{
  if (file == NULL)
    return;
  if (file->fd >= 0)
    close(file->fd);
  if (file->tmp_path)
    g_unlink(file->tmp_path);
  g_free(file->tmp_path);
  g_free(file->path);
  g_free(file);
}

gboolean
lethe_file_replace_contents(const char *path, const void *data, gsize length, GError **error)
{
  LetheAtomicFile *file = lethe_atomic_file_new(path, error);
  if (file == NULL)
    return FALSE;
  if (!lethe_atomic_file_write(file, data, length, error)) {
    lethe_atomic_file_abort(file);
    return FALSE;
  }
  return lethe_atomic_file_commit(file, error);
}
