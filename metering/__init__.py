"""Pure metering maths: quarter-hours from the registers, the capacity guard, screening, history views and
prices. No I/O, no clock reads: time comes in as an argument."""
