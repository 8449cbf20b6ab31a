/* A shared object that is not a Lethe plugin: no lethe_plugin_v1().
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
int test_no_descriptor_answer(void);

int
test_no_descriptor_answer(void)
{
  return 42;
}
