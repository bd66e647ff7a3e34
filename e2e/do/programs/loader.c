// The ELF loader, as the program sees it: initialized data holds its values; bss, which starts
// inside the last page of the file's bytes, reads as zeroes (the file's bytes past the data must
// not show through); and /proc/self/maps names the program for each of its segments, with the
// permissions and file offsets Linux gives them and the file's device and inode.
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int data[25] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3};
static unsigned char bss[3 * 4096 + 123];

int main(void) {
  long sum = 0;
  for (size_t i = 0; i < sizeof data / sizeof data[0]; i++) sum += data[i];
  printf("data sum %ld\n", sum);
  size_t nonzero = 0;
  for (size_t i = 0; i < sizeof bss; i++) nonzero += bss[i] != 0;
  printf("bss nonzero bytes %zu of %zu\n", nonzero, sizeof bss);
  memset(bss, 0xab, sizeof bss);  // writable, and private to this process
  printf("bss written %d\n", bss[sizeof bss - 1]);

  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return 1;
  exe[n] = '\0';
  FILE* maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) return 1;
  char line[8192];
  int segments = 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    char perms[8], dev[16], path[4096] = "";
    unsigned long long offset, inode;
    if (sscanf(line, "%*x-%*x %7s %llx %15s %llu %4095s", perms, &offset, dev, &inode, path) < 4) continue;
    if (strcmp(path, exe) != 0) continue;
    // The device and inode are the file's, as stat reports them.
    struct stat st;
    stat(exe, &st);
    char want[16];
    snprintf(want, sizeof want, "%02x:%02x", major(st.st_dev), minor(st.st_dev));
    printf("segment %s %llx, file's device and inode: %d\n", perms, offset, strcmp(dev, want) == 0 && inode == st.st_ino);
    segments++;
  }
  fclose(maps);
  printf("segments %d\n", segments);
  return segments > 0 ? 0 : 1;
}
