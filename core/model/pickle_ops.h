// The pickle opcodes that satclip's unpickler (torch_pickle.cpp) accepts. Internal to core/model.
#pragma once

#include <cstdint>

namespace satclip::core {

// The pickle opcodes torch.save emits (protocol 2, plus protocol 4's framing), by their Python names.
enum Op : uint8_t {
  kProto = 0x80,  // PROTO
  kFrame = 0x95,  // FRAME
  kMemoize = 0x94,  // MEMOIZE
  kStop = '.',  // STOP
  kMark = '(',  // MARK
  kEmptyDict = '}',  // EMPTY_DICT
  kEmptyList = ']',  // EMPTY_LIST
  kEmptyTuple = ')',  // EMPTY_TUPLE
  kNone = 'N',  // NONE
  kNewTrue = 0x88,  // NEWTRUE
  kNewFalse = 0x89,  // NEWFALSE
  kBinInt = 'J',  // BININT
  kBinInt1 = 'K',  // BININT1
  kBinInt2 = 'M',  // BININT2
  kLong1 = 0x8a,  // LONG1
  kBinFloat = 'G',  // BINFLOAT
  kBinUnicode = 'X',  // BINUNICODE
  kShortBinUnicode = 0x8c,  // SHORT_BINUNICODE
  kBinString = 'T',  // BINSTRING
  kShortBinString = 'U',  // SHORT_BINSTRING
  kGlobal = 'c',  // GLOBAL
  kBinPut = 'q',  // BINPUT
  kLongBinPut = 'r',  // LONG_BINPUT
  kBinGet = 'h',  // BINGET
  kLongBinGet = 'j',  // LONG_BINGET
  kTuple = 't',  // TUPLE
  kTuple1 = 0x85,  // TUPLE1
  kTuple2 = 0x86,  // TUPLE2
  kTuple3 = 0x87,  // TUPLE3
  kSetItem = 's',  // SETITEM
  kSetItems = 'u',  // SETITEMS
  kAppend = 'a',  // APPEND
  kAppends = 'e',  // APPENDS
  kBinPersId = 'Q',  // BINPERSID
  kReduce = 'R',  // REDUCE
  kBuild = 'b',  // BUILD
};

}  // namespace satclip::core
