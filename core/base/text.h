// Small string helpers shared by the readers and the CLI (C++17 has no starts_with).
#pragma once

#include <string>
#include <vector>

namespace satclip {

bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);

// `s` with every occurrence of `from` (not empty) replaced by `to`, left to right.
std::string replace_all(std::string s, const std::string& from, const std::string& to);

// ASCII lower case; other bytes unchanged.
std::string to_lower(std::string s);

// Without leading and trailing blanks (spaces and tabs).
std::string trim_blanks(const std::string& s);

// One CSV line split into fields by RFC 4180's quoting: a field in double quotes may hold commas,
// and "" inside it is one quote; a '\r' outside quotes is dropped (a CRLF file read by lines).
// Always at least one field; fields are not trimmed.
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace satclip
