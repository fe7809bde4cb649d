import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { Reader, type CityResponse } from 'mmdb-lib';

/** Where an address is, as far as a city database knows. */
export interface GeoPoint {
  lat: number;
  lon: number;
}

export interface GeoLocator {
  locate(ip: string | null): GeoPoint | null;
}

/**
 * A MaxMind-format database (GeoLite2-City, GeoIP2-City, DB-IP's city lite in MMDB) read into memory with
 * MaxMind's own reader. Unknown, private and malformed addresses locate nowhere. Throws when the file cannot be
 * read or is not an MMDB database, so a bad path fails the start rather than silently disabling the signal.
 */
export function openGeoIp(path: string): GeoLocator {
  const reader = new Reader<CityResponse>(readFileSync(path));
  const v4Only = reader.metadata.ipVersion === 4;
  return {
    locate(ip) {
      if (!ip) return null;
      const addr = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
      if (v4Only && !isIPv4(addr)) return null;
      try {
        const loc = reader.get(addr)?.location;
        return typeof loc?.latitude === 'number' && typeof loc.longitude === 'number' ? { lat: loc.latitude, lon: loc.longitude } : null;
      } catch {
        return null;
      }
    },
  };
}

/** Great-circle distance in km (haversine). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A location as stored in login_signals: rounded to 0.1° (about 10 km), enough for travel and no finer. */
export function geoValue(p: GeoPoint): string {
  return `${p.lat.toFixed(1)},${p.lon.toFixed(1)}`;
}

export function parseGeoValue(v: string): GeoPoint | null {
  const [lat, lon] = v.split(',').map(Number);
  return Number.isFinite(lat) && Number.isFinite(lon) ? { lat: lat!, lon: lon! } : null;
}
