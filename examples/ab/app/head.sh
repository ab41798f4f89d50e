#!/bin/sh
# The program as the pull request's head has it: 10 % more work than base.sh.
exec awk 'BEGIN { for (i = 0; i < 2200000; i++) s += i; print s }'
