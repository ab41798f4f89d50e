#!/bin/sh
# The program as the pull request's base has it: sums 2,000,000 numbers.
exec awk 'BEGIN { for (i = 0; i < 2000000; i++) s += i; print s }'
