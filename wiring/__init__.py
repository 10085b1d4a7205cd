"""The wiring: every service built once from the settings, the presenters plugged in, and the job list.

A neutral layer between the edges and the domain: bot/, dialogs/ and cli/ all take a ``Services`` from here, and
this is the only place settings are turned into the domain's own small config objects (the domain never sees
``Settings``). No botbuilder here.
"""
