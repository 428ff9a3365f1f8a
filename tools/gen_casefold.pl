#!/usr/bin/perl
# gen_casefold.pl — writes src/util/casefold_table.h: Unicode simple case
# folding (CaseFolding.txt's C and S entries) as sorted (from, to) pairs,
# from the Unicode data that ships with Perl (Unicode::UCD).
#
# usage: tools/gen_casefold.pl > src/util/casefold_table.h
use strict;
use warnings;
use Unicode::UCD qw(all_casefolds);

my $h = all_casefolds();
my @pairs;
for my $cp (sort { $a <=> $b } keys %$h) {
    my $s = $h->{$cp}{simple};
    next unless defined $s && length $s;
    next if $cp < 0x80;    # ASCII is folded by a comparison, not the table
    push @pairs, sprintf("{0x%05X, 0x%05X}", $cp, hex $s);
}
my $v = Unicode::UCD::UnicodeVersion();
print "/* casefold_table.h — Unicode $v simple case folding (CaseFolding.txt status C\n";
print " * and S) of every code point above U+007F, sorted: written by\n";
print " * tools/gen_casefold.pl, not by hand. ASCII folds A-Z to a-z in code. */\n";
print "/* clang-format off */\n";
print "static const uint32_t casefold_pairs[][2] = {\n";
for (my $i = 0; $i < @pairs; $i += 5) {
    my $end = $i + 4 < $#pairs ? $i + 4 : $#pairs;
    print "    ", join(", ", @pairs[$i .. $end]), ",\n";
}
print "};\n/* clang-format on */\n";
