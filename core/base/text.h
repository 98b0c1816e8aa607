// Small string helpers shared by the readers and the CLI (C++17 has no starts_with).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace satclip {

bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);

// `s` with every occurrence of `from` (not empty) replaced by `to`, left to right.
std::string replace_all(std::string s, const std::string& from, const std::string& to);

// `v` in the fewest of 15 or 17 significant digits that read back as the same double ("%g"
// style: 0.1, 0.30000000000000004, 1.0e-05 with a point, which YAML 1.1 readers need), where
// yaml-cpp and iostreams at full precision write 0.10000000000000001.
std::string round_trip_number(double v);

// `s` as a finite decimal number, the whole of it: an optional sign, digits with an optional point
// and exponent (0.5, .5, -5., 1e-05, +2E3). Refused, where strtod would take them: blanks around it,
// hexadecimal (0x10, 0x1p4), inf and nan, a value out of double's range, the decimal comma of a
// locale, trailing text. False leaves `out` unchanged.
bool parse_decimal(const std::string& s, double& out);

// `s` as a base-10 integer in int64's range, the whole of it: an optional sign and digits only.
bool parse_integer(const std::string& s, int64_t& out);

// ASCII lower case; other bytes unchanged.
std::string to_lower(std::string s);

// Without leading and trailing blanks (spaces and tabs).
std::string trim_blanks(const std::string& s);

// One CSV line split into fields by RFC 4180's quoting: a field in double quotes may hold commas,
// and "" inside it is one quote; a '\r' outside quotes is dropped (a CRLF file read by lines).
// Always at least one field; fields are not trimmed.
std::vector<std::string> split_csv_line(const std::string& line);

// How many of `fields` count: up to the last one that holds more than blanks (a trailing comma
// adds none). A row with more than its header's columns usually has decimal commas.
size_t filled_fields(const std::vector<std::string>& fields);

}  // namespace satclip
