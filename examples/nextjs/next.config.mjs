/** @type {import('next').NextConfig} */
const nextConfig = {
  // NICEPAY calls a server: nothing here needs a browser bundle or static export.
  poweredByHeader: false,
};

export default nextConfig;
