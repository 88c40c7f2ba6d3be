/* hello.c - compiled by gcc running on hartalloc, then run on it
 * (test-host-preload); prints "hello 5050 abcabcabc". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    int sum = 0;
    for (int i = 1; i <= 100; i++)
        sum += i;
    char *s = malloc(10);
    strcpy(s, "abc");
    s = realloc(s, 100);
    strcat(s, "abcabc");
    printf("hello %d %s\n", sum, s);
    free(s);
    return 0;
}
