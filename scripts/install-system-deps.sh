#!/usr/bin/env bash
# Installs the Debian packages Vanthu drives: LibreOffice headless (DOCX -> PDF), fonts that carry
# Vietnamese glyphs (Liberation = Times New Roman metrics), poppler-utils (pdfsig, pdftotext,
# pdftoppm; libnss3-tools lets pdfsig trust a root), SoftHSM2 (PKCS#11 tokens in tests) and
# Tesseract with Vietnamese + Ghostscript (OCR of scans through ocrmypdf), and postgresql-client
# (pg_dump and pg_restore for `vanthu backup` and `vanthu restore` of a PostgreSQL agency), and
# Chromium, which the web office's browser tests drive through Playwright, and python3-uno, which
# lets Debian's python3 run unoserver (a warm LibreOffice, engine/core/office.py). Skips apt
# entirely when all are present. zbar-tools: zbarimg reads the one-stop receipt's QR code in tests.
set -euo pipefail
packages=(libreoffice-writer-nogui python3-uno python3-venv fonts-liberation2 fonts-dejavu-core poppler-utils libnss3-tools softhsm2 opensc tesseract-ocr tesseract-ocr-vie ghostscript postgresql-client chromium zbar-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
