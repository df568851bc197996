/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * ub-trigger.c - undefined behaviour on purpose: a signed overflow whose
 * operands the compiler cannot see.  Built with the project's flags in a
 * UBSan build it must die at the overflow; "went on" means UBSan only
 * reported it and a finding could pass unnoticed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	volatile int big = INT_MAX;
	int step = argc > 1 ? atoi(argv[1]) : 1;
	int sum = big + step;

	printf("went on: %d\n", sum);
	return 0;
}
