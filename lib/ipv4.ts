/** Small IPv4 helpers for config validation (no library covers CIDR membership without pulling in much more). */

export interface Ipv4Cidr {
    readonly address: number;
    readonly prefix: number;
    readonly text: string;
}

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ADDRESS_PATTERN = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function parseIpv4(text: string): number | undefined {
    const match = ADDRESS_PATTERN.exec(text);
    if (!match) {
        return undefined;
    }
    return match.slice(1, 5).reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function parseCidr(text: string): Ipv4Cidr | undefined {
    const [addressText, prefixText, ...rest] = text.split("/");
    if (rest.length > 0 || addressText === undefined || prefixText === undefined || !/^\d{1,2}$/.test(prefixText)) {
        return undefined;
    }
    const address = parseIpv4(addressText);
    const prefix = Number(prefixText);
    if (address === undefined || prefix > 32) {
        return undefined;
    }
    return { address, prefix, text };
}

function mask(prefix: number): number {
    return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkAddress(cidr: Ipv4Cidr): number {
    return (cidr.address & mask(cidr.prefix)) >>> 0;
}

/** True when the CIDR's address is its network address (e.g. 10.0.0.0/24, not 10.0.0.5/24). */
export function isNetworkCidr(cidr: Ipv4Cidr): boolean {
    return networkAddress(cidr) === cidr.address;
}

export function cidrContains(cidr: Ipv4Cidr, address: number): boolean {
    return ((address & mask(cidr.prefix)) >>> 0) === networkAddress(cidr);
}

/** True when two networks share an address (one lies inside the other). */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    return cidrContains(a, b.address) || cidrContains(b, a.address);
}

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((text) => parseCidr(text) as Ipv4Cidr);

/** True when the whole CIDR lies inside one of the RFC 1918 private ranges. */
export function isPrivateCidr(cidr: Ipv4Cidr): boolean {
    return PRIVATE_RANGES.some((range) => range.prefix <= cidr.prefix && cidrContains(range, cidr.address));
}

/** The network's first host address, e.g. 10.213.53.1 for 10.213.53.0/24: where Docker puts a bridge's gateway. */
export function firstHost(cidr: Ipv4Cidr): string {
    return formatIpv4(networkAddress(cidr) + 1);
}

export function formatIpv4(address: number): string {
    return [24, 16, 8, 0].map((shift) => (address >>> shift) & 255).join(".");
}
