"""The problem classes behind the retrieval corpus (see ``bench/retrieval_corpus.py``)."""

# ruff: noqa: E501
from __future__ import annotations

from typing import Any

PRINTERS: list[dict[str, Any]] = [
    {
        "key": "hp-offline-spooler",
        "domain": "printers",
        "titles": (
            "Printer offline after Windows update",
            "HP printer shows offline for everyone",
            "Print queue says offline, spooler stopped",
        ),
        "problems": (
            "HP LaserJet shows offline on all PCs; the Print Spooler service stopped after the monthly Windows update",
            "Nobody can print to the HP LaserJet since Patch Tuesday, the queue shows Offline and the spooler service keeps stopping",
            "Printer status offline in Windows, print spooler not running after the update",
        ),
        "assets": ("HP LaserJet Pro M404dn", "HP LaserJet M428fdw", "HP LaserJet Enterprise M507"),
        "steps": (
            (
                "Restarted the Print Spooler service",
                "Printer back online for a few minutes, then offline again",
            ),
            (
                "Deleted the stuck jobs in C:\\Windows\\System32\\spool\\PRINTERS",
                "Spooler stays running",
            ),
            ("Set the Print Spooler service to restart on failure", "No more offline reports"),
        ),
        "resolutions": (
            "Stopped the spooler, cleared the spool folder, restarted the Print Spooler service and set it to restart on failure",
            "Cleared the corrupt jobs from the spool folder and restarted the print spooler; printer online again",
        ),
    },
    {
        "key": "hp-driver-queue",
        "domain": "printers",
        "titles": (
            "Print jobs stuck in queue after driver update",
            "Jobs pile up in the queue, nothing prints",
            "Queue stuck since HP Universal driver update",
        ),
        "problems": (
            "After the HP Universal Print Driver update to 7.1 jobs sit in the queue with status Printing and never come out",
            "Since the driver upgrade jobs get stuck in the HP queue; deleting them does not help",
            "Universal print driver PCL6 7.1 pushed by Intune, now every job hangs in the print queue",
        ),
        "assets": (
            "HP LaserJet Enterprise M507",
            "HP Color LaserJet M479fdw",
            "HP LaserJet Pro M404dn",
        ),
        "steps": (
            ("Restarted the spooler", "Queue cleared, then stuck again on the next job"),
            ("Printed a test page from the printer's web page", "Printer itself prints fine"),
            ("Installed HP Universal Print Driver 7.0 on one PC", "That PC prints normally"),
        ),
        "resolutions": (
            "Rolled back to HP Universal Print Driver 7.0 and paused the 7.1 deployment in Intune",
            "Driver 7.1 breaks the queue: reinstalled UPD PCL6 7.0 and removed the 7.1 package from the print server",
        ),
        "env": (("driver", "HP Universal 7.1"), ("driver", "UPD PCL6 7.1")),
    },
    {
        "key": "hp-jam-tray2",
        "domain": "printers",
        "titles": (
            "Paper jam in tray 2",
            "LaserJet keeps jamming from the second tray",
            "Error 13.B2 paper jam",
        ),
        "problems": (
            "HP LaserJet M507 reports a paper jam in tray 2 several times a day, error 13.B2.D1, no paper visible",
            "Constant jams when printing from tray 2; tray 1 works; the display says 13.B2 jam in tray 2",
            "Jam message in tray 2 with nothing stuck inside; paper comes in skewed",
        ),
        "assets": (
            "HP LaserJet Enterprise M507",
            "HP LaserJet Enterprise M607",
            "HP LaserJet Enterprise M507",
        ),
        "steps": (
            ("Checked the paper path for torn paper", "Nothing found"),
            ("Tried a new ream of 80 gsm paper", "Still jams from tray 2"),
            ("Inspected the tray 2 pickup roller", "Roller glazed and worn"),
        ),
        "resolutions": (
            "Replaced the tray 2 pickup roller and separation pad (roller kit); no jams since",
            "Worn pickup and separation rollers in tray 2: fitted a new roller kit and reset the counter",
        ),
    },
    {
        "key": "hp-firmware-snmp",
        "domain": "printers",
        "titles": (
            "Printer offline after firmware update",
            "LaserJet offline since the firmware push but pings",
            "Printer shows offline, web page still works",
        ),
        "problems": (
            "Since last night's firmware update the HP LaserJet shows offline in Windows although it answers ping and its web page loads",
            "All users see the HP printer offline after the firmware push; the printer has its IP and prints a config page",
            "Printer offline on every workstation after the firmware upgrade; network is fine",
        ),
        "assets": (
            "HP LaserJet Enterprise M507",
            "HP LaserJet M428fdw",
            "HP Color LaserJet M479fdw",
        ),
        "steps": (
            (
                "Power-cycled the printer and checked the cable",
                "Gets its IP but the queue is still offline",
            ),
            ("Pinged the printer from the print server", "Replies fine"),
            ("Unticked SNMP Status Enabled on the printer port", "Queue shows ready at once"),
        ),
        "resolutions": (
            "The new firmware answers SNMP differently: disabled 'SNMP Status Enabled' on the Standard TCP/IP port, printer online",
            "Turned off SNMP status on the printer's TCP/IP port in the print server; the firmware's SNMP change made Windows think it was offline",
        ),
        "env": (("firmware", "2506.1"), ("firmware", "2506.1.2")),
    },
    {
        "key": "zebra-offline-dhcp",
        "domain": "printers",
        "titles": (
            "Label printer drops off the network",
            "Zebra printer offline every morning",
            "Warehouse label printer not reachable",
        ),
        "problems": (
            "The Zebra ZD420 label printer goes offline every few days and comes back with a different IP address",
            "Shipping cannot print labels; the Zebra printer got a new IP from DHCP and the queue points at the old one",
            "Zebra label printer unreachable after the weekend, the printer's address changed",
        ),
        "assets": ("Zebra ZD420", "Zebra ZT410", "Zebra ZD421"),
        "steps": (
            ("Printed the network configuration label", "Printer has a new IP from DHCP"),
            ("Updated the printer port to the new IP", "Prints again until the lease changes"),
            ("Checked the DHCP lease time", "Leases last one day only"),
        ),
        "resolutions": (
            "Reserved the Zebra printer's MAC address in DHCP and pointed the queue at the reserved IP",
            "Gave the label printer a static IP outside the DHCP range and updated the port",
        ),
    },
    {
        "key": "zebra-skip-calibrate",
        "domain": "printers",
        "titles": (
            "Labels skipping, printing across the gap",
            "Zebra printer feeds two labels at a time",
            "Label printer misaligned after new roll",
        ),
        "problems": (
            "After loading a new roll the Zebra ZD420 skips every other label and prints across the gap between labels",
            "Label printer feeds an extra blank label after each print and the status light flashes red",
            "Print is shifted down onto the next label; the printer does not detect the label gap",
        ),
        "assets": ("Zebra ZD420", "Zebra GK420d", "Zebra ZD421"),
        "steps": (
            ("Reloaded the label roll and closed the lid", "Still skipping labels"),
            ("Cleaned the media sensor", "No change"),
            (
                "Held the feed button until two flashes to calibrate",
                "Printer measured the labels and stopped skipping",
            ),
        ),
        "resolutions": (
            "Ran the media calibration (hold feed until two flashes) and set media type to gap/notch",
            "Recalibrated the media sensor for the new label stock; labels align again",
        ),
    },
    {
        "key": "brother-toner-reset",
        "domain": "printers",
        "titles": (
            "Replace toner message after new cartridge",
            "Brother printer still says toner empty",
            "Toner end message will not clear",
        ),
        "problems": (
            "Brother HL-L2350DW keeps showing Replace Toner even after a new toner cartridge was fitted, so it will not print",
            "New toner installed but the Brother laser printer still reports toner end",
            "The printer says replace toner although the cartridge is brand new (compatible cartridge)",
        ),
        "assets": ("Brother HL-L2350DW", "Brother MFC-L2710DW", "Brother HL-L2370DN"),
        "steps": (
            ("Reseated the toner cartridge in the drum unit", "Message stays"),
            ("Cleaned the toner sensor window", "No change"),
            ("Ran the toner reset from the front panel menu", "Printer ready"),
        ),
        "resolutions": (
            "Reset the toner counter: front door open, hold Go / press Clear then Start, choose the standard toner reset",
            "Compatible cartridges do not reset the counter: did the toner reset from the hidden menu and the printer prints again",
        ),
    },
    {
        "key": "canon-scan-email",
        "domain": "printers",
        "titles": (
            "Scan to email fails on the copier",
            "Copier cannot send scans by email",
            "Scan to email stopped after Microsoft 365 change",
        ),
        "problems": (
            "The Canon imageRUNNER fails to send scanned documents by email with a send error #755 since the mail provider changed",
            "Scan to email on the copier reports SMTP authentication failed",
            "Copier scans but the email never arrives; error on the send log",
        ),
        "assets": (
            "Canon imageRUNNER ADVANCE C3530",
            "Canon imageRUNNER 2625i",
            "Canon imageRUNNER ADVANCE C5535",
        ),
        "steps": (
            ("Checked the SMTP settings on the copier", "Still smtp.office365.com on port 25"),
            ("Sent a test email from the copier", "Authentication error"),
            ("Switched the copier to port 587 with STARTTLS", "Test email delivered"),
        ),
        "resolutions": (
            "Set the copier's SMTP server to smtp.office365.com port 587 with TLS and an app password for the scanner account",
            "Updated the scan-to-email SMTP settings: port 587, STARTTLS, authenticated with the scanner mailbox",
        ),
    },
    {
        "key": "hp-blank-pages",
        "domain": "printers",
        "titles": (
            "Printer prints blank pages",
            "Blank pages after new toner",
            "LaserJet output completely white",
        ),
        "problems": (
            "After replacing the toner cartridge the HP LaserJet prints completely blank pages",
            "Every page comes out blank from the HP printer since the new cartridge",
            "HP laser printer feeds paper but nothing is printed on it",
        ),
        "assets": (
            "HP LaserJet Pro M404dn",
            "HP LaserJet Pro MFP M428fdw",
            "HP LaserJet Pro M203dw",
        ),
        "steps": (
            ("Printed a configuration page", "Also blank"),
            ("Took the toner cartridge out", "Orange sealing tape still on it"),
            ("Shook the cartridge and reinserted it", "Still blank"),
        ),
        "resolutions": (
            "Removed the sealing tape and orange shipping clip from the new toner cartridge; prints normally",
            "The new cartridge still had its protective seal: pulled the tape out, pages print again",
        ),
    },
    {
        "key": "ricoh-streaks",
        "domain": "printers",
        "titles": (
            "Streaks on copies",
            "Vertical lines on every copy",
            "Copier output has black streaks",
        ),
        "problems": (
            "The Ricoh MP C3004 prints a vertical black streak down every copy but not on printed jobs",
            "Copies from the document feeder have lines; copies from the glass are clean",
            "Black lines on scans and copies from the ADF of the Ricoh",
        ),
        "assets": ("Ricoh MP C3004", "Ricoh IM C3000", "Ricoh MP C4504"),
        "steps": (
            ("Printed a test page", "Test page is clean"),
            ("Copied from the glass instead of the feeder", "No streaks"),
            ("Cleaned the narrow scanning glass strip", "Streaks gone"),
        ),
        "resolutions": (
            "Cleaned the ADF scanning glass strip (the narrow glass left of the platen) with alcohol; the streak was dust on it",
            "Dirt on the feeder's scanning strip: cleaned it and the white guide, copies are clean",
        ),
    },
]

NETWORK: list[dict[str, Any]] = [
    {
        "key": "forticlient-vpn-drops",
        "domain": "network",
        "titles": (
            "VPN drops every ten minutes",
            "FortiClient keeps disconnecting",
            "Remote users lose the VPN tunnel",
        ),
        "problems": (
            "FortiClient VPN disconnects every 10 minutes on home wifi, reconnecting works",
            "Remote staff lose the FortiClient SSL VPN tunnel roughly every ten minutes",
            "The VPN connection drops repeatedly for home workers; on site is fine",
        ),
        "assets": ("FortiGate 60F", "FortiGate 40F", "FortiGate 60F"),
        "steps": (
            ("Checked the FortiGate event log", "Tunnel down on DPD/keepalive timeout"),
            ("Lowered the MTU on the VPN adapter to 1400", "Stable for an hour"),
            ("Disabled DTLS in the SSL VPN settings", "No drops since"),
        ),
        "resolutions": (
            "Set the MTU to 1400 on the FortiClient adapter and disabled DTLS for the SSL VPN portal",
            "Lowered the VPN MTU to 1400; the home routers fragmented the tunnel packets",
        ),
        "env": (("vpn", "FortiClient 7.2"), ("vpn", "FortiClient 7.0.9")),
    },
    {
        "key": "wifi-roaming-drops",
        "domain": "network",
        "titles": (
            "Wi-Fi drops when walking between rooms",
            "Wireless disconnects moving between floors",
            "Laptops lose Wi-Fi when roaming",
        ),
        "problems": (
            "Laptops lose the Wi-Fi connection for 20-30 seconds when users walk between floors; each floor has a UniFi access point",
            "Wireless keeps dropping as people move around the office; calls cut out when roaming between access points",
            "The Wi-Fi disconnects briefly whenever a device switches access point",
        ),
        "assets": ("UniFi U6 Pro access points", "UniFi U6 Lite", "Aruba Instant On AP22"),
        "steps": (
            ("Checked the controller logs", "Clients stick to the far AP then drop"),
            ("Lowered the 2.4 GHz transmit power", "Slightly better"),
            ("Enabled minimum RSSI at -75 dBm", "Clients roam cleanly"),
        ),
        "resolutions": (
            "Set minimum RSSI to -75 dBm, lowered AP transmit power and disabled fast roaming (802.11r) that the laptops' drivers mishandled",
            "Tuned roaming: minimum RSSI on every AP, band steering on, 802.11r off; no more drops between floors",
        ),
    },
    {
        "key": "dns-internal",
        "domain": "network",
        "titles": (
            "Internal sites not resolving",
            "Intranet unreachable by name",
            "DNS fails for internal servers",
        ),
        "problems": (
            "Users can reach internet sites but not intranet.local or the file server by name; IP addresses work",
            "Internal hostnames do not resolve on some PCs since the router was replaced",
            "nslookup of internal servers fails; clients got the ISP's DNS server",
        ),
        "assets": ("Windows Server 2019 DC", "Windows Server 2022 DC", "Draytek Vigor 2865"),
        "steps": (
            ("Ran ipconfig /all on an affected PC", "DNS server is 8.8.8.8 instead of the DC"),
            ("Checked the DHCP scope options", "Option 6 points at the router"),
            ("Ran ipconfig /renew after fixing the scope", "Internal names resolve"),
        ),
        "resolutions": (
            "The new router handed out public DNS: set DHCP option 6 to the domain controller and disabled DHCP on the router",
            "Pointed the DHCP DNS option back at the internal DNS server; clients renewed and resolve internal names",
        ),
    },
    {
        "key": "gpo-drive-map",
        "domain": "network",
        "titles": (
            "Mapped drive missing at login",
            "Shared drive mapping fails",
            "Network drive not appearing",
        ),
        "problems": (
            "The mapped network drive Z: does not appear at login for the accounts team; it comes from a GPO drive map",
            "Users in finance no longer get their S: drive mapped when they sign in",
            "Group policy drive mapping stopped working for some users",
        ),
        "assets": ("Windows Server 2019 DC", "File server FS01", "Windows Server 2022 DC"),
        "steps": (
            ("Ran gpresult /r", "Drive map policy filtered out"),
            ("Checked the item-level targeting of the drive map", "Targets an old security group"),
            ("Mapped the drive by hand", "Works, so the share and rights are fine"),
        ),
        "resolutions": (
            "Fixed the item-level targeting of the GPO drive map to the new security group; gpupdate /force and the drive maps",
            "The drive map targeted a deleted group: retargeted it and the drive appears at login",
        ),
    },
    {
        "key": "vlan-dhcp-relay",
        "domain": "network",
        "titles": (
            "Devices on new VLAN get no IP address",
            "New VLAN clients show 169.254 address",
            "DHCP not working on the guest VLAN",
        ),
        "problems": (
            "Devices plugged into the new VLAN 30 get a 169.254 address; the DHCP server is on VLAN 10",
            "Phones on the voice VLAN get no IP address after the switch change",
            "DHCP works on the main network but not on the new VLAN",
        ),
        "assets": ("Cisco Catalyst 9200", "Meraki MS120", "HPE Aruba 2930F"),
        "steps": (
            ("Checked the DHCP server's scopes", "Scope for VLAN 30 exists and is active"),
            ("Captured traffic on the server", "No DHCP requests arrive from VLAN 30"),
            ("Checked the VLAN interface on the core switch", "No ip helper-address"),
        ),
        "resolutions": (
            "Added the ip helper-address (DHCP relay) for the DHCP server on the VLAN 30 interface of the core switch",
            "Configured DHCP relay on the new VLAN's layer-3 interface; clients get addresses",
        ),
    },
    {
        "key": "anyconnect-cert",
        "domain": "network",
        "titles": (
            "AnyConnect certificate validation failure",
            "VPN will not connect: certificate error",
            "Cisco VPN says untrusted server certificate",
        ),
        "problems": (
            "Cisco AnyConnect fails with 'Certificate Validation Failure' since the VPN certificate was renewed",
            "Users get an untrusted server certificate warning and cannot connect to the Cisco VPN",
            "AnyConnect will not establish the connection, certificate error on connect",
        ),
        "assets": ("Cisco ASA 5506-X", "Cisco Firepower 1010", "Cisco ASA 5508-X"),
        "steps": (
            ("Checked the certificate chain on the ASA", "Intermediate certificate missing"),
            ("Connected from a PC with the new CA", "Connects"),
            ("Imported the intermediate CA on the firewall", "All clients connect"),
        ),
        "resolutions": (
            "Installed the missing intermediate CA certificate on the ASA trustpoint so the full chain is sent",
            "The renewed VPN certificate lacked its intermediate in the chain: imported it, AnyConnect validates again",
        ),
        "env": (("vpn", "Cisco AnyConnect 4.10"), ("vpn", "Cisco Secure Client 5.0")),
    },
    {
        "key": "switch-loop",
        "domain": "network",
        "titles": (
            "Whole network very slow, lights flashing",
            "Network outage, switch lights all blinking",
            "Broadcast storm takes the office down",
        ),
        "problems": (
            "The whole office network crawls and drops; every port light on the switch flashes constantly",
            "Network stops working every afternoon; the switch CPU is at 100 percent",
            "Intermittent total network outage; a broadcast storm shows on the switch",
        ),
        "assets": ("Netgear GS724T", "TP-Link TL-SG3428", "Cisco Catalyst 2960"),
        "steps": (
            (
                "Unplugged uplinks one at a time",
                "Network recovers when the meeting room uplink is out",
            ),
            ("Checked spanning tree status", "STP disabled on the switch"),
            ("Found a cable between two wall ports in the meeting room", "Loop removed"),
        ),
        "resolutions": (
            "Removed a patch cable looping two wall ports in the meeting room and enabled spanning tree (RSTP) on the switches",
            "Enabled loop protection / STP on all access ports; the loop came from a desk switch cabled twice",
        ),
    },
    {
        "key": "rdp-port-forward",
        "domain": "network",
        "titles": (
            "Remote desktop to office stopped working",
            "Port forward not working after firewall update",
            "Cannot reach the server from outside",
        ),
        "problems": (
            "After the SonicWall firmware upgrade external RDP to the terminal server no longer connects",
            "The port forward for the camera system stopped working after the firewall update",
            "Inbound NAT to the internal server times out since the firewall was updated",
        ),
        "assets": ("SonicWall TZ370", "SonicWall TZ270", "SonicWall NSa 2700"),
        "steps": (
            ("Checked the NAT policy", "Policy exists but shows zero hits"),
            ("Tested from outside with a port checker", "Port closed"),
            ("Recreated the NAT and access rule with the wizard", "Port open"),
        ),
        "resolutions": (
            "The firmware migration broke the NAT policy: deleted and recreated the inbound NAT and firewall access rule",
            "Recreated the port forwarding with the SonicWall public server wizard; inbound connections work",
        ),
    },
]

ACCOUNTS: list[dict[str, Any]] = [
    {
        "key": "ad-lockout-phone",
        "domain": "accounts",
        "titles": (
            "Account keeps locking out",
            "User locked out several times a day",
            "Repeated Active Directory lockouts",
        ),
        "problems": (
            "The user's domain account locks out several times a day since the password change",
            "Active Directory account locked again and again, even right after an unlock",
            "Frequent account lockouts after a password reset; the user types the right password",
        ),
        "assets": ("Windows Server 2019 DC", "Windows Server 2022 DC", "Windows Server 2016 DC"),
        "steps": (
            ("Checked event 4740 on the PDC", "Lockouts come from the Exchange/ActiveSync server"),
            ("Asked the user about other devices", "Old phone still has the work mailbox"),
            ("Removed the mail account from the old phone", "No lockouts since"),
        ),
        "resolutions": (
            "An old phone kept trying the old password over ActiveSync: removed the mail account from it and unlocked the account",
            "Found the lockout source with event 4740: a phone with the old password; updated the password on the phone",
        ),
    },
    {
        "key": "mfa-lost-phone",
        "domain": "accounts",
        "titles": (
            "Lost phone, cannot sign in with MFA",
            "New phone, Authenticator codes gone",
            "User cannot complete multi-factor sign-in",
        ),
        "problems": (
            "The user got a new phone and can no longer approve sign-ins; Microsoft Authenticator was on the old phone",
            "Lost phone means no MFA prompt, so the user cannot sign in to Microsoft 365",
            "Multi-factor authentication prompt goes to a phone the user no longer has",
        ),
        "assets": ("Microsoft 365 tenant", "Entra ID", "Microsoft 365 tenant"),
        "steps": (
            ("Verified the user's identity by a call back", "Confirmed"),
            ("Checked the user's authentication methods in Entra", "Only the old phone registered"),
            ("Issued a temporary access pass", "User signed in and registered the new phone"),
        ),
        "resolutions": (
            "Required re-registration of MFA in Entra ID and gave the user a temporary access pass to set up Authenticator on the new phone",
            "Deleted the old authenticator method and had the user register Microsoft Authenticator again",
        ),
    },
    {
        "key": "password-expired-remote",
        "domain": "accounts",
        "titles": (
            "Password expired, working remotely",
            "Cannot change expired password from home",
            "Must change password at next logon over VPN",
        ),
        "problems": (
            "A remote user's password expired and Windows cannot change it because the laptop is not on the office network",
            "Expired domain password: the laptop says the domain is not available when changing it from home",
            "User at home gets 'your password has expired' and the change fails",
        ),
        "assets": ("Windows Server 2019 DC", "Dell Latitude 5440", "Windows Server 2022 DC"),
        "steps": (
            ("Tried Ctrl+Alt+Del change password on VPN", "VPN needs the same password, fails"),
            ("Reset the password in AD with no change at next logon", "User signs in to VPN"),
            ("Had the user lock and unlock the laptop on VPN", "Cached credentials updated"),
        ),
        "resolutions": (
            "Reset the password in Active Directory, connected the VPN with it, then lock/unlock to refresh the cached credentials",
            "Had the user change the expired password through the web portal (SSPR), then sign in over VPN and lock/unlock",
        ),
    },
    {
        "key": "okta-sso-loop",
        "domain": "accounts",
        "titles": (
            "SSO login loop",
            "Okta sign-in keeps redirecting",
            "Single sign-on bounces back to login page",
        ),
        "problems": (
            "Signing in to the HR portal through Okta loops back to the Okta login page endlessly in Chrome",
            "The single sign-on page keeps redirecting between the app and Okta without logging in",
            "SSO redirect loop for one user; works in a private window",
        ),
        "assets": ("Okta", "Okta Workforce", "BambooHR with Okta SSO"),
        "steps": (
            ("Tried an incognito window", "Sign-in works"),
            ("Cleared cookies for okta.com and the app", "Sign-in works in the normal window"),
            ("Checked Chrome's third-party cookie setting", "Blocked third-party cookies"),
        ),
        "resolutions": (
            "Cleared the stale Okta session cookies and allowed third-party cookies for the Okta domain in Chrome",
            "The browser blocked Okta's cookies: added an exception for the org's Okta domain and cleared site data",
        ),
    },
    {
        "key": "no-license-new-hire",
        "domain": "accounts",
        "titles": (
            "New starter cannot use Teams or Office",
            "New hire gets 'no license' message",
            "New employee cannot activate Office",
        ),
        "problems": (
            "A new employee can sign in but Teams and Outlook say the account has no license",
            "New hire's Office apps show unlicensed product and Teams will not open",
            "The new starter's mailbox does not exist and Office asks to buy a subscription",
        ),
        "assets": (
            "Microsoft 365 tenant",
            "Microsoft 365 Business Premium",
            "Microsoft 365 tenant",
        ),
        "steps": (
            ("Checked the user's licenses in the admin center", "No license assigned"),
            ("Checked the license group membership", "User missing from the M365-Users group"),
            ("Added the user to the licensing group", "License applied after 10 minutes"),
        ),
        "resolutions": (
            "Assigned a Microsoft 365 Business Premium license (added to the licensing group); mailbox created and Teams works",
            "The onboarding script skipped the license group: added the user and the Office apps activated",
        ),
    },
    {
        "key": "windows-hello-pin",
        "domain": "accounts",
        "titles": (
            "Windows Hello PIN not working",
            "PIN sign-in says something went wrong",
            "Cannot sign in with PIN on laptop",
        ),
        "problems": (
            "Windows Hello says 'Something happened and your PIN isn't available' at the sign-in screen",
            "The user's PIN no longer works after the TPM firmware update; password sign-in works",
            "PIN sign-in option missing or failing on the laptop",
        ),
        "assets": ("Dell Latitude 5440", "Lenovo ThinkPad T14", "HP EliteBook 840 G9"),
        "steps": (
            ("Signed in with the password instead", "Works"),
            ("Tried 'I forgot my PIN'", "Error 0x80090016"),
            ("Deleted the Ngc folder as administrator", "PIN setup offered again"),
        ),
        "resolutions": (
            "Took ownership of and deleted C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Microsoft\\Ngc, then set up a new PIN",
            "Reset Windows Hello by clearing the Ngc folder; the user created a new PIN",
        ),
    },
    {
        "key": "sspr-not-registered",
        "domain": "accounts",
        "titles": (
            "Self-service password reset not available",
            "Password reset page says not registered",
            "Forgot password link does not work for user",
        ),
        "problems": (
            "The user tried the forgot-password link and Microsoft says they are not registered for self-service password reset",
            "Self-service password reset fails: 'you can't reset your own password because you haven't registered'",
            "User cannot reset the Microsoft 365 password themselves",
        ),
        "assets": ("Entra ID", "Microsoft 365 tenant", "Entra ID"),
        "steps": (
            ("Checked the SSPR policy scope", "User is in scope"),
            ("Checked registered methods", "No phone or email registered"),
            ("Reset the password for the user and sent the registration link", "User registered"),
        ),
        "resolutions": (
            "Reset the password as admin and had the user register methods at aka.ms/setupsecurityinfo so SSPR works next time",
            "The user had never registered for SSPR: reset the password and enforced combined registration",
        ),
    },
]

EMAIL: list[dict[str, Any]] = [
    {
        "key": "outlook-password-loop",
        "domain": "email",
        "titles": (
            "Outlook keeps asking for password",
            "Outlook password prompt loop",
            "Credential prompt in Outlook after MFA",
        ),
        "problems": (
            "Outlook 365 keeps asking for the password after MFA was enabled for the mailbox",
            "Since multi-factor was turned on, Outlook shows a password prompt loop and never connects",
            "Outlook desktop repeatedly prompts for credentials; webmail works",
        ),
        "assets": ("Outlook 365", "Outlook 2021", "Outlook 365"),
        "steps": (
            ("Restarted Outlook", "Still prompting"),
            ("Cleared Credential Manager entries for Office", "Outlook connected without prompt"),
            ("Checked modern authentication in the registry", "ADAL disabled by an old key"),
        ),
        "resolutions": (
            "Removed cached Office credentials in Windows Credential Manager and re-added the account with modern authentication",
            "Deleted the old registry key disabling modern auth and cleared stored credentials; Outlook signs in with MFA",
        ),
    },
    {
        "key": "outlook-ost-sync",
        "domain": "email",
        "titles": (
            "Outlook not syncing new mail",
            "Inbox not updating in Outlook",
            "Outlook stuck on 'Updating this folder'",
        ),
        "problems": (
            "New emails show in webmail but not in Outlook desktop; the status bar says Updating this folder",
            "Outlook stopped receiving mail yesterday, sent items do not sync either",
            "Outlook folders out of date compared with OWA; OST file is 48 GB",
        ),
        "assets": ("Outlook 365", "Outlook 2019", "Outlook 365"),
        "steps": (
            ("Checked the connection status", "Connected"),
            ("Ran the Inbox Repair Tool (scanpst) on the OST", "Errors found"),
            ("Renamed the OST file and restarted Outlook", "Mailbox resynced"),
        ),
        "resolutions": (
            "Rebuilt the corrupt OST: closed Outlook, renamed the .ost file, restarted and let it resync (cached mode 12 months)",
            "Created a new Outlook profile; the old OST was corrupt and near its size limit",
        ),
    },
    {
        "key": "smtp-relay-550",
        "domain": "email",
        "titles": (
            "Application cannot send email: 550 5.7.1",
            "Relay denied for the line-of-business app",
            "Server alerts email not delivered",
        ),
        "problems": (
            "The accounting application's emails bounce with 550 5.7.1 Unable to relay since the move to Exchange Online",
            "Alerts from the backup server fail with SMTP error 550 5.7.1 relay access denied",
            "Devices sending through our SMTP relay get unable to relay",
        ),
        "assets": ("Exchange Online", "Exchange Server 2019", "Exchange Online"),
        "steps": (
            ("Sent a test with telnet to the relay", "550 5.7.1 Unable to relay"),
            ("Checked the connectors in Exchange admin", "No connector for the office IP"),
            ("Added an inbound connector for the static IP", "Test mail delivered"),
        ),
        "resolutions": (
            "Created an Exchange Online inbound connector that accepts relay from the office's static IP",
            "Added the application server's IP to the receive connector's allowed relay list",
        ),
    },
    {
        "key": "mail-in-spam-spf",
        "domain": "email",
        "titles": (
            "Our emails land in customers' spam",
            "Outgoing mail marked as spam",
            "Emails to Gmail go to junk",
        ),
        "problems": (
            "Customers say our invoices land in their spam folder, especially Gmail",
            "Outbound emails from the company domain go to junk at recipients",
            "Mail to external recipients fails SPF and is marked as spam",
        ),
        "assets": ("company.com DNS", "Microsoft 365 tenant", "company.com DNS"),
        "steps": (
            ("Checked the message headers at Gmail", "spf=softfail, dkim=none"),
            ("Checked the SPF record", "Missing include for the invoicing service"),
            ("Enabled DKIM signing", "dkim=pass"),
        ),
        "resolutions": (
            "Added the invoicing service's include to the SPF record, enabled DKIM signing and a DMARC record",
            "Fixed SPF (one record with all senders) and turned on DKIM; mail lands in the inbox",
        ),
    },
    {
        "key": "shared-mailbox-missing",
        "domain": "email",
        "titles": (
            "Shared mailbox not showing in Outlook",
            "Cannot see the team mailbox",
            "Shared inbox disappeared from Outlook",
        ),
        "problems": (
            "The sales shared mailbox no longer appears in the user's Outlook folder list",
            "User was given access to the info@ shared mailbox but it does not show up",
            "Shared mailbox vanished from Outlook after a profile change",
        ),
        "assets": ("Exchange Online", "Outlook 365", "Exchange Online"),
        "steps": (
            ("Checked full access permission", "Permission present"),
            ("Opened the mailbox in OWA", "Works"),
            ("Removed and re-added full access with automapping", "Mailbox appears after restart"),
        ),
        "resolutions": (
            "Removed and re-granted Full Access with automapping on; the shared mailbox appeared after restarting Outlook",
            "Added the shared mailbox manually under account settings, more settings, advanced",
        ),
    },
    {
        "key": "mailbox-full",
        "domain": "email",
        "titles": (
            "Mailbox full, cannot send",
            "Mailbox over quota",
            "User gets mailbox almost full warnings",
        ),
        "problems": (
            "The user's mailbox reached its 50 GB quota and Outlook can no longer send",
            "Mailbox is full; mail bounces back to senders",
            "Quota warning and sending blocked on the director's mailbox",
        ),
        "assets": ("Exchange Online", "Microsoft 365 Business Standard", "Exchange Online"),
        "steps": (
            ("Checked the mailbox size", "49.9 GB of 50 GB"),
            ("Emptied Deleted Items", "Freed 2 GB"),
            ("Enabled the online archive", "Archive policy moving old mail"),
        ),
        "resolutions": (
            "Enabled the online archive with a 2-year retention policy and ran the Managed Folder Assistant",
            "Turned on archiving for the mailbox and moved mail older than two years to the archive",
        ),
    },
    {
        "key": "calendar-delegate",
        "domain": "email",
        "titles": (
            "Assistant cannot manage the boss's calendar",
            "Delegate not receiving meeting invites",
            "Calendar delegate permissions broken",
        ),
        "problems": (
            "The executive assistant no longer receives meeting requests for the manager and cannot accept them",
            "Delegate access to the calendar stopped working; invites go only to the manager",
            "Assistant sees the calendar but cannot edit or accept on behalf",
        ),
        "assets": ("Outlook 365", "Exchange Online", "Outlook 2021"),
        "steps": (
            ("Checked delegate settings in Outlook", "Delegate listed"),
            ("Checked calendar folder permissions", "Only reviewer"),
            ("Removed and re-added the delegate as editor", "Invites arrive"),
        ),
        "resolutions": (
            "Removed the delegate and added again with Editor on the calendar and 'delegate receives copies of meeting requests'",
            "Rebuilt the delegate permissions from the manager's Outlook; the hidden delegate rule was broken",
        ),
    },
    {
        "key": "outlook-search",
        "domain": "email",
        "titles": (
            "Outlook search returns no results",
            "Cannot find emails with search",
            "Search in Outlook is broken",
        ),
        "problems": (
            "Searching in Outlook finds nothing, even for emails received today",
            "Outlook search shows 'we're having trouble fetching results'",
            "Instant search incomplete; only old mail found",
        ),
        "assets": ("Outlook 365", "Outlook 2019", "Outlook 365"),
        "steps": (
            ("Checked indexing status in Outlook", "Items remaining: 80,000"),
            ("Restarted the Windows Search service", "No change"),
            ("Rebuilt the index in Indexing Options", "Search works after an hour"),
        ),
        "resolutions": (
            "Rebuilt the Windows Search index (Indexing Options, Advanced, Rebuild) and made sure Outlook is included",
            "The search index was corrupt: rebuilt it; Outlook search returns results",
        ),
    },
]

POS: list[dict[str, Any]] = [
    {
        "key": "epson-receipt-offline",
        "domain": "pos",
        "titles": (
            "Receipt printer offline at the till",
            "Till cannot print receipts",
            "POS says printer not connected",
        ),
        "problems": (
            "The Epson TM-T88VI receipt printer shows offline in the POS software; sales go through but no receipt prints",
            "Receipts stopped printing at till 2, the POS app reports printer not found",
            "Network receipt printer at the counter not responding to the register",
        ),
        "assets": ("Epson TM-T88VI", "Epson TM-m30III", "Epson TM-T20III"),
        "steps": (
            ("Printed the printer's status sheet", "IP changed to a new address"),
            ("Pinged the old IP from the till", "No reply"),
            ("Set the printer IP in EpsonNet Config", "Till prints receipts"),
        ),
        "resolutions": (
            "Gave the Epson receipt printer a static IP with EpsonNet Config and updated it in the POS printer settings",
            "The receipt printer had taken a new DHCP address: reserved it in the router and re-added the printer in the POS",
        ),
    },
    {
        "key": "verifone-pinpad-disconnect",
        "domain": "pos",
        "titles": (
            "Card reader disconnects from the till",
            "PIN pad not connected",
            "Payment terminal keeps losing connection",
        ),
        "problems": (
            "The Verifone P400 PIN pad shows 'not connected' on the till several times a day; card payments fail until it is rebooted",
            "Card terminal disconnects from the POS in the middle of transactions",
            "Terminal offline message on the register, the pinpad reconnects after a restart",
        ),
        "assets": ("Verifone P400", "Verifone V400m", "Verifone P400"),
        "steps": (
            ("Rebooted the PIN pad", "Works for a few hours"),
            ("Swapped the USB/Ethernet cable", "Still disconnects"),
            ("Set a fixed IP on the PIN pad", "No disconnects for two days"),
        ),
        "resolutions": (
            "Gave the Verifone PIN pad a static IP outside the DHCP pool and updated the pairing in the POS",
            "Reserved the terminal's address in DHCP and re-paired it with the till; no more disconnects",
        ),
    },
    {
        "key": "ingenico-host-unreachable",
        "domain": "pos",
        "titles": (
            "Card payments declined: host unreachable",
            "Payment terminal cannot reach the bank",
            "All card transactions failing at the shop",
        ),
        "problems": (
            "The Ingenico Desk/5000 declines every card with 'host unreachable' since the new internet router",
            "Card payments fail with a communication error; the terminal cannot reach the acquirer",
            "Terminal shows connection error to the payment host, cash only today",
        ),
        "assets": ("Ingenico Desk/5000", "Ingenico Move/5000", "Ingenico Lane/3000"),
        "steps": (
            ("Checked the terminal's network settings", "Has an IP and gateway"),
            (
                "Checked the new router's firewall",
                "Outbound port 443 to the acquirer blocked by a filter",
            ),
            ("Ran a terminal network test", "Host reachable after the change"),
        ),
        "resolutions": (
            "The new router's content filter blocked the acquirer's host: allowed outbound TLS to the payment gateway for the terminal",
            "Added a firewall exception for the terminal's IP to the payment host; transactions approved",
        ),
    },
    {
        "key": "cash-drawer",
        "domain": "pos",
        "titles": (
            "Cash drawer does not open",
            "Till drawer stays shut after sale",
            "Cash drawer not kicking open",
        ),
        "problems": (
            "The cash drawer no longer opens at the end of a cash sale; the receipt prints fine",
            "Drawer will not open automatically, staff use the key",
            "Cash drawer does not pop when a sale completes",
        ),
        "assets": ("APG Vasario cash drawer", "Star SMD2 cash drawer", "APG Vasario cash drawer"),
        "steps": (
            ("Checked the drawer's RJ12 cable", "Plugged into the printer's DK port"),
            ("Opened the drawer with the key", "Mechanism fine"),
            ("Enabled cash drawer kick in the printer settings", "Drawer opens on sale"),
        ),
        "resolutions": (
            "The POS update reset the printer profile: re-enabled 'open cash drawer' (drawer kick) on the receipt printer",
            "Reconnected the drawer cable to the printer's DK port and turned on drawer kick-out in the POS settings",
        ),
    },
    {
        "key": "scanner-wrong-chars",
        "domain": "pos",
        "titles": (
            "Barcode scanner types wrong characters",
            "Scanned barcodes come out garbled",
            "Scanner enters the wrong product codes",
        ),
        "problems": (
            "The Honeywell barcode scanner at the till types wrong characters, e.g. symbols instead of digits, so products are not found",
            "Scanning a barcode puts the wrong code into the POS search box",
            "Barcodes scan as garbage characters after the till was replaced",
        ),
        "assets": ("Honeywell Voyager 1250g", "Honeywell Xenon 1950g", "Zebra DS2208"),
        "steps": (
            ("Scanned into Notepad", "Shows characters like & and é instead of 1 and 2"),
            ("Checked the till's keyboard layout", "French AZERTY layout"),
            ("Scanned the keyboard country barcode from the manual", "Digits correct"),
        ),
        "resolutions": (
            "Set the scanner's keyboard country to match the till (programming barcode from the user guide)",
            "The new till used a different keyboard layout: changed the Windows layout back to English (UK)",
        ),
    },
    {
        "key": "pos-app-freeze",
        "domain": "pos",
        "titles": (
            "POS app freezes at checkout",
            "Register app hangs on payment screen",
            "Till app crashes during sales",
        ),
        "problems": (
            "The POS app on the iPad freezes on the payment screen several times a day",
            "Square register app hangs at checkout and has to be force closed",
            "Till app crashes when adding items at busy times",
        ),
        "assets": (
            "iPad 9th generation with Square POS",
            "iPad Air with Lightspeed",
            "iPad 10th generation",
        ),
        "steps": (
            ("Force closed and reopened the app", "Works for a while"),
            ("Checked the iPad's free storage", "Only 200 MB free"),
            ("Updated the POS app and iPadOS", "No freezes since"),
        ),
        "resolutions": (
            "Freed storage on the iPad, updated iPadOS and the POS app to the current version; no more freezes",
            "Deleted old photo library and offloaded unused apps to free space, then updated the POS app",
        ),
    },
    {
        "key": "thermal-paper-jam",
        "domain": "pos",
        "titles": (
            "Receipt paper jams",
            "Thermal printer jams at the till",
            "Receipts come out crumpled",
        ),
        "problems": (
            "The thermal receipt printer at till 3 jams every few receipts and the paper crumples",
            "Receipt paper keeps jamming in the receipt printer",
            "Receipts feed crooked and jam at the cutter",
        ),
        "assets": ("Epson TM-T20III", "Star TSP143IIIU", "Epson TM-T88VI"),
        "steps": (
            ("Cleared the jam and reloaded the roll", "Jams again after a few receipts"),
            ("Checked the paper roll width", "Rolls are 79.5 mm, slightly wide"),
            ("Cleaned the autocutter blade", "Still jams"),
        ),
        "resolutions": (
            "Replaced the wrong-size paper rolls with 80 x 80 mm thermal rolls and refitted the paper guide",
            "The paper roll guide was bent: replaced it and loaded the roll the right way round",
        ),
    },
]

LAPTOPS: list[dict[str, Any]] = [
    {
        "key": "dell-not-charging",
        "domain": "laptops",
        "titles": (
            "Laptop battery not charging",
            "Plugged in, not charging",
            "Dell laptop says the adapter is not recognised",
        ),
        "problems": (
            "Dell Latitude plugged in but the battery stays at 40 percent, not charging",
            "The laptop shows 'plugged in, not charging' and warns that the AC adapter type cannot be determined",
            "Battery will not charge on the dock or the charger",
        ),
        "assets": ("Dell Latitude 5440", "Dell Latitude 7420", "Dell Latitude 5530"),
        "steps": (
            ("Tried another outlet", "Still not charging"),
            ("Checked the BIOS battery information", "65W adapter detected as unknown"),
            ("Tried a 90W Dell adapter", "Charging"),
        ),
        "resolutions": (
            "Replaced the 65W adapter with the 90W Dell adapter; the old adapter's ID pin was faulty",
            "The third-party charger was not recognised: supplied a genuine Dell 90W adapter",
        ),
    },
    {
        "key": "lenovo-dock-monitors",
        "domain": "laptops",
        "titles": (
            "External monitors not detected on the dock",
            "Dock screens stay black",
            "USB-C dock: monitors not working",
        ),
        "problems": (
            "With the Lenovo USB-C dock, the two external monitors stay black; charging and USB work",
            "External screens not detected when the ThinkPad is docked",
            "Docking station displays no signal after the Windows update",
        ),
        "assets": (
            "Lenovo ThinkPad T14 with USB-C Dock Gen 2",
            "Lenovo ThinkPad X1 Carbon",
            "Lenovo ThinkPad Universal USB-C Dock",
        ),
        "steps": (
            ("Connected a monitor straight to the laptop", "Works"),
            ("Checked the dock firmware version", "Old firmware"),
            ("Updated the dock firmware and DisplayLink driver", "Both monitors work"),
        ),
        "resolutions": (
            "Updated the Lenovo dock firmware and the DisplayLink driver; both external monitors detected",
            "Installed the latest dock firmware with Lenovo Vantage and reconnected; the displays came back",
        ),
    },
    {
        "key": "bitlocker-recovery",
        "domain": "laptops",
        "titles": (
            "BitLocker recovery key requested",
            "Laptop asks for BitLocker key at boot",
            "BitLocker recovery screen after update",
        ),
        "problems": (
            "After the BIOS update the laptop boots to the BitLocker recovery screen and asks for the 48-digit key",
            "The user is stuck at BitLocker recovery on startup",
            "BitLocker asks for the recovery key after a docking station firmware update",
        ),
        "assets": ("Dell Latitude 5440", "HP EliteBook 840 G9", "Lenovo ThinkPad T14"),
        "steps": (
            ("Looked up the recovery key in Entra ID", "Key found for the device"),
            ("Entered the recovery key", "Windows boots"),
            ("Suspended and resumed BitLocker protection", "No prompt on the next boot"),
        ),
        "resolutions": (
            "Gave the user the recovery key from Entra ID, then suspended and resumed BitLocker so the TPM re-seals; BIOS updates now suspend it first",
            "Unlocked with the key stored in Active Directory and re-enabled TPM protection with manage-bde",
        ),
    },
    {
        "key": "disk-100-slow",
        "domain": "laptops",
        "titles": (
            "Laptop extremely slow, disk at 100%",
            "PC takes ages to start",
            "Everything slow, Task Manager shows disk 100 percent",
        ),
        "problems": (
            "The laptop takes ten minutes to boot and Task Manager shows the disk at 100 percent constantly",
            "Very slow PC, programs hang, the hard drive light is always on",
            "Slow startup and freezes; the old machine still has a spinning hard disk",
        ),
        "assets": ("HP ProBook 450 G5", "Lenovo ThinkPad E580", "Dell Latitude 5490"),
        "steps": (
            ("Checked Task Manager", "Disk 100%, SysMain and Windows Search busy"),
            ("Ran a SMART check", "Hard disk has reallocated sectors"),
            ("Cloned the disk to an SSD", "Boots in 30 seconds"),
        ),
        "resolutions": (
            "Replaced the failing hard disk with an SSD (cloned), the laptop boots in under a minute",
            "Swapped the HDD for a 512 GB SSD and disabled SysMain; disk usage normal",
        ),
    },
    {
        "key": "wifi-adapter-missing",
        "domain": "laptops",
        "titles": (
            "Wi-Fi option disappeared",
            "No wireless adapter after update",
            "Laptop cannot see any Wi-Fi networks",
        ),
        "problems": (
            "After the Windows update the Wi-Fi icon is gone and Device Manager shows no wireless adapter",
            "Laptop lost its Wi-Fi adapter; only Ethernet works",
            "The Intel Wi-Fi 6 AX201 adapter shows code 10 in Device Manager",
        ),
        "assets": ("Dell Latitude 7420", "HP EliteBook 840 G8", "Lenovo ThinkPad T14"),
        "steps": (
            ("Checked airplane mode and the Wi-Fi switch", "Airplane mode is off"),
            ("Looked in Device Manager", "Intel AX201 with a yellow warning, code 10"),
            ("Installed the latest Intel Wi-Fi driver", "Adapter back"),
        ),
        "resolutions": (
            "Uninstalled the adapter and installed the current Intel Wi-Fi driver from Intel; wireless works",
            "The update installed a bad Wi-Fi driver: rolled it back and blocked the driver update",
        ),
    },
    {
        "key": "hp-no-audio",
        "domain": "laptops",
        "titles": (
            "No sound on laptop",
            "Speakers silent after update",
            "Audio device not found",
        ),
        "problems": (
            "The HP EliteBook has no sound from the speakers since the update; Windows says no output devices found",
            "No audio in Teams calls or videos; the sound icon has a red cross",
            "Laptop speakers and headphone jack silent",
        ),
        "assets": ("HP EliteBook 840 G9", "HP EliteBook 850 G8", "HP ProBook 450 G9"),
        "steps": (
            ("Ran the audio troubleshooter", "No audio device"),
            ("Checked Device Manager", "Realtek audio missing, Intel SST error"),
            ("Installed the HP audio driver SoftPaq", "Sound works"),
        ),
        "resolutions": (
            "Rolled back the Realtek audio driver and installed HP's SoftPaq audio and Intel SST drivers",
            "Reinstalled the HP audio driver from HP Image Assistant; speakers work",
        ),
    },
    {
        "key": "touchpad-not-working",
        "domain": "laptops",
        "titles": (
            "Touchpad not working",
            "Laptop touchpad does nothing",
            "Cursor will not move with the trackpad",
        ),
        "problems": (
            "The touchpad on the Dell XPS stopped responding; an external mouse works",
            "Laptop trackpad is dead after the user pressed some keys",
            "Touchpad not detected in settings",
        ),
        "assets": ("Dell XPS 13 9315", "Dell XPS 15 9530", "Dell Latitude 7420"),
        "steps": (
            ("Tried an external mouse", "Works"),
            ("Pressed the touchpad toggle key (F5/Fn)", "No change"),
            ("Checked touchpad in Windows settings", "Turned off"),
        ),
        "resolutions": (
            "The touchpad was turned off in Settings, Bluetooth & devices, Touchpad; turned it back on",
            "Re-enabled the touchpad in the BIOS and updated the precision touchpad driver",
        ),
    },
    {
        "key": "bsod-dock-driver",
        "domain": "laptops",
        "titles": (
            "Blue screen when docking",
            "BSOD DRIVER_IRQL_NOT_LESS_OR_EQUAL",
            "Laptop crashes when connected to dock",
        ),
        "problems": (
            "The laptop blue screens with DRIVER_IRQL_NOT_LESS_OR_EQUAL whenever it is plugged into the dock",
            "Crash to blue screen after connecting the docking station; minidump names the Realtek USB Ethernet driver",
            "Stop code DRIVER_IRQL_NOT_LESS_OR_EQUAL rtux64w10.sys when docked",
        ),
        "assets": (
            "Dell Latitude 5440 with WD19 dock",
            "Dell WD19S dock",
            "HP EliteBook 840 G9 with USB-C dock",
        ),
        "steps": (
            ("Read the minidump with WinDbg", "rtux64w10.sys (Realtek USB GbE)"),
            ("Undocked and used Wi-Fi", "No crash"),
            ("Updated the dock's Realtek Ethernet driver", "No more blue screens"),
        ),
        "resolutions": (
            "Updated the dock's Realtek USB Ethernet driver and the dock firmware; no more BSOD when docking",
            "The dock's network driver crashed Windows: installed the current Realtek USB GbE driver",
        ),
    },
]

CLASSES: list[dict[str, Any]] = [*PRINTERS, *NETWORK, *ACCOUNTS, *EMAIL, *POS, *LAPTOPS]
