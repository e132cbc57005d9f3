"""MQTT for every bailwatch process: a small client interface and broker administration.

``client`` holds the consumer interface the ingester (and later alerts) reads from, with its paho
implementation; ``dynsec`` administers device credentials and ACLs through Mosquitto's
dynamic-security plugin; ``provision`` is the command line for it.
"""
