"""The exchange wing: registry data moving between agencies without raw CNICs.

Federal and provincial agencies (BISP, the provincial social protection authorities, the PDMAs)
share registry tables for disaster payouts. This wing covers the three steps, each a module a
newcomer can read on its own:

Pseudonyms -- :mod:`simulator.exchange.pseudonym`
    The data owner replaces each CNIC by a keyed pseudonym (HMAC-SHA256) with a secret only it
    holds; a :class:`~simulator.exchange.pseudonym.KeyRing` keeps current and retired keys and
    rotates them. This is the only code that ever sees a raw CNIC.

Record linkage -- :mod:`simulator.exchange.linkage` (overview and re-exports)
    Two registries with different pseudonyms are matched on name, father's name, date of birth
    and district without revealing them: :mod:`~simulator.exchange.names` normalises names,
    :mod:`~simulator.exchange.encoding` turns each record into a Bloom filter (CLK) as clkhash's
    schema v3 does (keyed BLAKE2b, per-field keys by HKDF; :mod:`~simulator.exchange.clk_schema`),
    so that an agency using anonlink can link with Madad, with keyed block keys, :mod:`~simulator.exchange.matching` blocks, scores (Dice) and links
    one-to-one, and :mod:`~simulator.exchange.synthetic` makes a test pair of registries with
    known links to measure it.

Exchange packages -- :mod:`simulator.exchange.packages` (public operations and re-exports)
    A table travels as one signed, encrypted ``.madadpkg`` file in standard formats (a tar of the
    payload encrypted with age, the manifest, and its OpenSSH Ed25519 signature), streamed in
    chunks: :mod:`~simulator.exchange.keys` makes and loads agency identities (Ed25519 + X25519,
    also written for ``age`` and ``ssh-keygen``), :mod:`~simulator.exchange.payload` writes the
    Parquet payload and refuses raw CNICs, :mod:`~simulator.exchange.container` defines the
    archive, encryption and every check on reading, and :mod:`~simulator.exchange.audit` keeps
    the hash-chained audit log of what each side did, refusing a package id opened before.
    :mod:`~simulator.exchange.common` holds the small helpers they share.

Long operations (:func:`~simulator.exchange.packages.pack`, ``unpack``, ``verify``,
:func:`~simulator.exchange.encoding.encode`, :func:`~simulator.exchange.matching.link`) take an
optional ``on_progress(step, done, total)`` (:data:`~simulator.exchange.common.ProgressCallback`),
told at chunk boundaries; the wing itself never prints.

The command line front end is ``madad exchange`` (:mod:`simulator.cli.exchange`). The wing
imports only from the layers below it (hazards, scenario, registry, ...), never from the CLI or
the app.
"""
