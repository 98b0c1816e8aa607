// Natural Earth's countries (core/eval/countries.h): 50 capitals, each well inside its country
// (at least ~50 km from any border or coast), are labelled with that country; points at sea are
// not labelled.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/eval/countries.h"

namespace sc = satclip::core;

TEST(Countries, FiftyCapitalsLieInTheirCountries) {
  const auto map = sc::CountryMap::load(sc::default_countries_path());
  struct Capital {
    const char* city;
    double lat, lon;
    const char* country;
  };
  const std::vector<Capital> capitals = {
      {"Paris", 48.857, 2.352, "France"},          {"Madrid", 40.417, -3.704, "Spain"},
      {"Berlin", 52.520, 13.405, "Germany"},       {"Warsaw", 52.230, 21.012, "Poland"},
      {"Prague", 50.075, 14.438, "Czechia"},       {"Budapest", 47.498, 19.040, "Hungary"},
      {"Kyiv", 50.450, 30.524, "Ukraine"},         {"Minsk", 53.900, 27.567, "Belarus"},
      {"Moscow", 55.756, 37.617, "Russia"},        {"Ankara", 39.934, 32.860, "Turkey"},
      {"Tehran", 35.689, 51.389, "Iran"},          {"Kabul", 34.555, 69.207, "Afghanistan"},
      {"New Delhi", 28.614, 77.209, "India"},      {"Kathmandu", 27.717, 85.324, "Nepal"},
      {"Beijing", 39.904, 116.407, "China"},       {"Ulaanbaatar", 47.886, 106.906, "Mongolia"},
      {"Hanoi", 21.028, 105.834, "Vietnam"},       {"Naypyidaw", 19.763, 96.079, "Myanmar"},
      {"Nairobi", -1.292, 36.822, "Kenya"},        {"Addis Ababa", 9.030, 38.740, "Ethiopia"},
      {"Kampala", 0.348, 32.582, "Uganda"},        {"Kigali", -1.944, 30.062, "Rwanda"},
      {"Lusaka", -15.387, 28.322, "Zambia"},       {"Harare", -17.829, 31.053, "Zimbabwe"},
      {"Pretoria", -25.747, 28.229, "South Africa"}, {"Windhoek", -22.560, 17.066, "Namibia"},
      {"Bamako", 12.639, -8.003, "Mali"},          {"Niamey", 13.512, 2.113, "Niger"},
      {"Ouagadougou", 12.371, -1.520, "Burkina Faso"}, {"Abuja", 9.077, 7.399, "Nigeria"},
      {"Khartoum", 15.501, 32.560, "Sudan"},       {"Cairo", 30.044, 31.236, "Egypt"},
      {"Riyadh", 24.713, 46.675, "Saudi Arabia"},  {"Baghdad", 33.315, 44.366, "Iraq"},
      {"Damascus", 33.514, 36.277, "Syria"},       {"Tashkent", 41.299, 69.240, "Uzbekistan"},
      {"Astana", 51.169, 71.449, "Kazakhstan"},    {"Dushanbe", 38.560, 68.787, "Tajikistan"},
      {"Brasilia", -15.794, -47.882, "Brazil"},    {"La Paz", -16.490, -68.119, "Bolivia"},
      {"Bogota", 4.711, -74.072, "Colombia"},      {"Quito", -0.181, -78.468, "Ecuador"},
      {"Mexico City", 19.433, -99.133, "Mexico"},  {"Ottawa", 45.421, -75.697, "Canada"},
      {"Denver", 39.739, -104.990, "United States of America"}, {"Canberra", -35.281, 149.130, "Australia"},
      {"Vienna", 48.208, 16.374, "Austria"},       {"Bern", 46.948, 7.447, "Switzerland"},
      {"Algiers inland (Djelfa)", 34.673, 3.263, "Algeria"}, {"Tripoli inland (Sabha)", 27.038, 14.426, "Libya"},
  };
  ASSERT_EQ(capitals.size(), 50u);
  int wrong = 0;
  for (const auto& c : capitals) {
    const int64_t i = map.country_at(c.lat, c.lon);
    const std::string got = i < 0 ? "(sea)" : map.names()[size_t(i)];
    EXPECT_EQ(got, c.country) << c.city;
    wrong += got != c.country;
  }
  EXPECT_EQ(wrong, 0);
  for (const auto& [lat, lon] : std::vector<std::pair<double, double>>{{0, -30}, {-40, 90}, {30, -150}, {-60, 0}}) {
    EXPECT_EQ(map.country_at(lat, lon), -1) << lat << ", " << lon;
  }
}

TEST(Countries, AMissingFileIsNamed) {
  try {
    sc::CountryMap::load("/nonexistent/countries.shp");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/countries.shp"), std::string::npos) << e.what();
  }
}
