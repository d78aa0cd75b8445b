/* The conversations loket-load's clients walk against the bundled Chika flow,
 * each step with the fragments its replies must contain. They are the golden
 * transcripts of tests/transcripts/pandawa/ (the DOMAIN.md examples), each
 * closed with "menu" so that the next round starts from the main menu: a
 * wrong tariff or a lost session shows as a wrong reply. Fragments that
 * depend on the time of day (office hours) are left out, since the server
 * runs on the real clock. A client walks them in turn. */
#include "load.h"

#include <ctype.h>
#include <string.h>

#define N(a) (int)(sizeof a / sizeof *a)

/* arrears-5-months-3-members.txt: 3 x Rp35.000 x (5 + 1), REHAB offered, paid in full. */
static const ld_step conv_bandung[] = {
    {"Hi Chika", {"Chika", "1. Cek Status Peserta", "6. PANDAWA"}},
    {"6", {"PANDAWA", "provinsi", "1. Aceh"}},
    {"Jawa Barat", {"Provinsi *Jawa Barat*", "kabupaten/kota"}},
    {"Kota Bandung",
     {"formulir PANDAWA untuk *Kota Bandung*",
      "https://pandawa.bpjs-kesehatan.go.id/formulir/32.73", "Pengaktifan Kembali Kartu"}},
    {"J", {"Pengaktifan Kembali Kartu", "1. Menunggak iuran (PBPU/Mandiri)"}},
    {"1", {"berapa *bulan*"}},
    {"5", {"Kartu Keluarga"}},
    {"3", {"kelas"}},
    {"3",
     {"3 peserta × Rp35.000 (kelas III) × 6 bulan", "Total: Rp630.000",
      "Tidak ada denda keterlambatan", "REHAB"}},
    {"2", {"Cara membayar Rp630.000", "Mobile JKN", "Balas *SUDAH* setelah membayar"}},
    {"sudah", {"aktif maksimal 1×24 jam"}},
    {"menu", {"6. PANDAWA"}},
};

/* arrears-under-4-months-no-rehab.txt: 2 x Rp100.000 x (3 + 1), no REHAB. */
static const ld_step conv_jaksel[] = {
    {"Hi Chika", {"6. PANDAWA"}},
    {"6", {"provinsi"}},
    {"DKI Jakarta", {"kabupaten/kota"}},
    {"jaksel", {"Kota Administrasi Jakarta Selatan", "Pengaktifan Kembali Kartu"}},
    {"j", {"1. Menunggak iuran (PBPU/Mandiri)"}},
    {"1", {"berapa *bulan*"}},
    {"3 bulan", {"Kartu Keluarga"}},
    {"2", {"kelas"}},
    {"2",
     {"2 peserta × Rp100.000 (kelas II) × 4 bulan", "Total: Rp800.000", "!REHAB",
      "Cara membayar Rp800.000"}},
    {"belum", {"Balas *SUDAH*"}},
    {"Sudah bayar", {"1×24 jam"}},
    {"menu", {"6. PANDAWA"}},
};

/* arrears-48-months-kelas-1.txt: only 24 months + 1 charged, 25 x Rp150.000, REHAB. */
static const ld_step conv_bekasi[] = {
    {"halo", {"6. PANDAWA"}},
    {"6", {"provinsi"}},
    {"jabar", {"Jawa Barat"}},
    {"bekasi", {"Ada lebih dari satu", "1. Kota Bekasi", "2. Kabupaten Bekasi"}},
    {"1", {"Kota Bekasi", "Pengaktifan Kembali Kartu"}},
    {"10", {"Pengaktifan Kembali Kartu", "1. Menunggak iuran"}},
    {"1", {"berapa *bulan*"}},
    {"48", {"Kartu Keluarga"}},
    {"1", {"kelas"}},
    {"1",
     {"1 peserta × Rp150.000 (kelas I) × 25 bulan", "Total: Rp3.750.000", "paling banyak 24 bulan",
      "REHAB"}},
    {"1", {"Mobile JKN", "Care Center *165*", "12 kali"}},
    {"menu", {"6. PANDAWA"}},
};

const ld_conv ld_convs[] = {
    {"bandung", conv_bandung, N(conv_bandung)},
    {"jaksel", conv_jaksel, N(conv_jaksel)},
    {"bekasi", conv_bekasi, N(conv_bekasi)},
};
const int ld_nconvs = N(ld_convs);

/* Case-insensitive (ASCII) search; the fragments' other characters match bytewise. */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    const char *h;

    for (h = hay; *h; h++) {
        size_t i;
        for (i = 0; i < n && h[i]; i++)
            if (tolower((unsigned char)h[i]) != tolower((unsigned char)needle[i]))
                break;
        if (i == n)
            return 1;
    }
    return n == 0;
}

const char *ld_check(const ld_step *step, const char *replies)
{
    int i;

    for (i = 0; i < LD_MAX_EXPECT && step->expect[i]; i++) {
        const char *e = step->expect[i];
        if (e[0] == '!' ? contains(replies, e + 1) : !contains(replies, e))
            return e;
    }
    return NULL;
}
