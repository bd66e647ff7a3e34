// The ELF loader, as the program sees it: initialized data holds its values; bss, which starts
// inside the last page of the file's bytes, reads as zeroes (the file's bytes past the data must
// not show through); and /proc/self/maps names the program for each of its segments, with the
// permissions and file offsets Linux gives them.
#include <stdio.h>
#include <string.h>
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
    char perms[8], path[4096] = "";
    unsigned long long offset;
    if (sscanf(line, "%*x-%*x %7s %llx %*s %*s %4095s", perms, &offset, path) < 2) continue;
    if (strcmp(path, exe) != 0) continue;
    printf("segment %s %llx\n", perms, offset);
    segments++;
  }
  fclose(maps);
  printf("segments %d\n", segments);
  return segments > 0 ? 0 : 1;
}
