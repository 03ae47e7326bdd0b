// phone.cc - the C face of libphonenumber (phone.h). The only C++ file of
// the server: it catches everything, so no exception ever crosses into C.
#include <cstring>
#include <string>
#include <phonenumbers/phonenumberutil.h>
#include "domain/phone.h"

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

extern "C" bool phone_region_valid(const char *region)
{
	try {
		if (!region || std::strlen(region) != 2)
			return false;
		std::set<std::string> regions;
		PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
		return regions.count(region) != 0;
	} catch (...) {
		return false;
	}
}

extern "C" int phone_e164(const char *text, const char *region, char *out, size_t cap)
{
	try {
		const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		PhoneNumber n;
		std::string e164;
		if (!text || !region || u->Parse(text, region, &n) != PhoneNumberUtil::NO_PARSING_ERROR ||
		    !u->IsValidNumber(n))
			return -1;
		u->Format(n, PhoneNumberUtil::E164, &e164);
		if (e164.size() + 1 > cap)
			return -1;
		std::memcpy(out, e164.c_str(), e164.size() + 1);
		return 0;
	} catch (...) {
		return -1;
	}
}
