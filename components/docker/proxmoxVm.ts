import * as proxmoxve from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CloudInitInput, renderCloudInit } from "../../lib/cloudInit";
import { ProxmoxConfig, cloudImageOf } from "../../lib/config";

export interface ProxmoxVmArgs {
    /** Validated `authentik-sso:proxmox` settings. */
    proxmox: ProxmoxConfig;
    /** VM name (also its hostname). */
    vmName: string;
    /**
     * What cloud-init sets up on first boot (`renderCloudInit`, without the host key, which this component
     * generates). Bootstrap only: later changes do not touch the VM.
     */
    bootstrap: Omit<CloudInitInput, "hostKey">;
    /** Protect the VM from deletion and replacement, in Pulumi and in Proxmox. */
    protect: boolean;
    /** Written into the VM's description, so the Proxmox UI says what manages it. */
    managedBy: string;
}

/**
 * A Proxmox VE VM from a generic cloud image, bootstrapped by a cloud-init snippet, with the Proxmox firewall
 * letting in SSH from the admin network and nothing else.
 */
export class ProxmoxVm extends pulumi.ComponentResource {
    public readonly vm: proxmoxve.VmLegacy;
    public readonly vmId: pulumi.Output<number>;
    /** The VM's static address, without prefix: what SSH and the Docker provider connect to. */
    public readonly address: string;
    /** The VM's SSH host key ("ssh-ed25519 AAAA…"), pinned by every SSH client of the stack. */
    public readonly hostPublicKey: pulumi.Output<string>;
    /**
     * The MAC address Proxmox gave the VM's network card, read from the VM's configuration: it changes only when the
     * VM is re-created. (`vm.macAddresses` comes from the guest agent and lists every Docker bridge and veth too.)
     */
    public readonly nicMacAddress: pulumi.Output<string>;

    constructor(name: string, args: ProxmoxVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("authentik-sso:proxmox:Vm", name, {}, opts);
        const { proxmox } = args;
        const cloudImage = cloudImageOf(proxmox.image);

        const image = new proxmoxve.download.File(
            `${name}-image`,
            {
                nodeName: proxmox.node,
                datastoreId: proxmox.imageDatastore,
                // "import" lets the disk be created with importFrom (Proxmox VE 8.4 and later).
                contentType: "import",
                url: cloudImage.url,
                // One file per VM: two stacks on one node must not share (and delete) each other's image.
                fileName: `${args.vmName}-${cloudImage.fileName}`,
                // Proxmox checks the download against it; a dated URL with its published checksum is reproducible.
                checksum: cloudImage.checksum,
                checksumAlgorithm: cloudImage.checksumAlgorithm,
                // With the default (true), a refresh that sees another size at the URL replaces the file.
                overwrite: false,
            },
            // The file name is fixed: the old file must go before the new one is written.
            { parent: this, deleteBeforeReplace: true },
        );

        // Generated once and kept (secret) in state: the VM presents this key whatever cloud-init run it is in.
        const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent: this });
        this.hostPublicKey = hostKey.publicKeyOpenssh.apply((key) => key.trim());
        const userData = pulumi.secret(
            pulumi
                .all([hostKey.privateKeyOpenssh, this.hostPublicKey])
                .apply(([privateKey, publicKey]) => renderCloudInit({ ...args.bootstrap, hostKey: { privateKey, publicKey } })),
        );

        const snippet = new proxmoxve.FileLegacy(
            `${name}-user-data`,
            {
                nodeName: proxmox.node,
                datastoreId: proxmox.snippetsDatastore,
                contentType: "snippets",
                // Secret: the user-data holds the host's private key (the provider stores it in state otherwise).
                sourceRaw: { fileName: `${args.vmName}-user-data.yaml`, data: userData },
            },
            {
                parent: this,
                // The file name (its volid) is fixed: deleting the old file after creating the new one would delete both.
                deleteBeforeReplace: true,
                // cloud-init is bootstrap only: a changed user-data must not rewrite the snippet under a running VM
                // or replace the VM (bpg#2901, #1622). README "Changing cloud-init" says how a change gets there.
                ignoreChanges: ["sourceRaw"],
            },
        );

        const [address] = proxmox.ipv4.split("/") as [string];
        this.address = address;

        this.vm = new proxmoxve.VmLegacy(
            `${name}-vm`,
            {
                nodeName: proxmox.node,
                ...(proxmox.vmId !== undefined ? { vmId: proxmox.vmId } : {}),
                name: args.vmName,
                description: `authentik single sign-on. Managed by Pulumi (${args.managedBy}); change it there, not here.`,
                tags: [...proxmox.tags].sort(),
                onBoot: proxmox.onBoot,
                started: true,
                protection: args.protect,
                // The guest agent is installed by cloud-init; enabled without it, every update would hang (muhlba91#326).
                agent: { enabled: true, timeout: "15m", trim: true },
                cpu: { cores: proxmox.cores, sockets: 1, type: proxmox.cpuType },
                // No ballooning: the containers' memory limits assume the whole amount is there.
                memory: { dedicated: proxmox.memoryMb, floating: 0 },
                operatingSystem: { type: "l26" },
                scsiHardware: "virtio-scsi-single",
                disks: [
                    {
                        interface: "scsi0",
                        datastoreId: proxmox.datastore,
                        importFrom: image.id,
                        size: proxmox.diskGb,
                        discard: "on",
                        iothread: true,
                        ssd: true,
                    },
                ],
                networkDevices: [{ bridge: proxmox.bridge, model: "virtio", firewall: true, ...(proxmox.vlanId !== undefined ? { vlanId: proxmox.vlanId } : {}) }],
                // Generic cloud images log to the serial console.
                serialDevices: [{ device: "socket" }],
                initialization: {
                    datastoreId: proxmox.datastore,
                    ipConfigs: [{ ipv4: { address: proxmox.ipv4, gateway: proxmox.gateway } }],
                    dns: { servers: [...proxmox.dns] },
                    userDataFileId: snippet.id,
                },
                stopOnDestroy: true,
            },
            // protect: the VM holds the database volume; `pulumi destroy` must stop here unless unprotected first.
            // deleteBeforeReplace: a fixed vmId cannot exist twice.
            { parent: this, protect: args.protect, deleteBeforeReplace: true },
        );
        this.vmId = this.vm.vmId;
        this.nicMacAddress = this.vm.networkDevices.apply((devices) => {
            const mac = devices[0]?.macAddress;
            if (mac === undefined) {
                throw new Error(`the VM ${args.vmName} reports no network device`);
            }
            return mac;
        });

        // Proxmox deletes a VM's firewall file when the VM is destroyed, and a re-created VM with the same vmId gives
        // these resources no changed input: replaceWith re-creates them with the VM (OptionsLegacy would never notice
        // the loss, RulesLegacy only on a refresh).
        const firewallOptions = new proxmoxve.firewall.OptionsLegacy(
            `${name}-firewall-options`,
            { nodeName: proxmox.node, vmId: this.vm.vmId, enabled: true, inputPolicy: "DROP", outputPolicy: "ACCEPT", macfilter: true, dhcp: false, ndp: false, radv: false },
            { parent: this, replaceWith: [this.vm] },
        );
        new proxmoxve.firewall.RulesLegacy(
            `${name}-firewall-rules`,
            {
                nodeName: proxmox.node,
                vmId: this.vm.vmId,
                rules: [
                    {
                        type: "in",
                        action: "ACCEPT",
                        proto: "tcp",
                        dport: "22",
                        source: proxmox.adminCidr,
                        comment: "SSH from the admin network (operators, CI, the Docker provider)",
                        enabled: true,
                    },
                ],
            },
            // The rules are only enforced once the options switch the firewall on with a DROP policy. The provider deletes
            // rules by position: the old set must go before the new one is written, or its delete removes the new rules.
            { parent: this, dependsOn: [firewallOptions], replaceWith: [this.vm], deleteBeforeReplace: true },
        );

        this.registerOutputs({ vmId: this.vmId, address: this.address, hostPublicKey: this.hostPublicKey, nicMacAddress: this.nicMacAddress });
    }
}
